//! What a panic of the storage engine said: a store damaged on disk can make redb panic
//! ("unreachable"), and every place that contains such a panic (the repair's reads, the
//! relay's team stores, the command line) reports its message the same way.

use std::any::Any;

/// The message a panic carried, or "no message".
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("no message")
}
