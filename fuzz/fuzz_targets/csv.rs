//! Any bytes as a CSV file to import: read row by row, never a panic.

#![no_main]

mod sheet;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|file: &[u8]| sheet::read("csv", file));
