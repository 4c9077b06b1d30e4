//! Any bytes as a frame: decoding never panics, and what decodes encodes back to itself.

#![no_main]

use fieldsync_sync::codec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    if let Ok(message) = codec::decode(frame) {
        let again = codec::decode(&codec::encode(&message)).expect("an encoded message decodes");
        assert_eq!(again, message);
    }
});
