//! The frame codec: one message per websocket binary frame, a format byte then CBOR.
//!
//! CBOR (RFC 8949) through `ciborium`: self-describing, compact for byte strings (documents
//! travel as raw bytes, not base64), and readable from any language. The leading byte is the
//! codec version, so a later layout can be told apart before anything is parsed.

use crate::message::Message;

/// The codec version: the first byte of every frame.
pub const CODEC_VERSION: u8 = 1;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame is empty.
    #[error("empty frame")]
    Empty,
    /// The frame starts with a codec version this code does not know.
    #[error("frame codec version {0} is not supported (this side speaks {CODEC_VERSION})")]
    Version(u8),
    /// The frame's CBOR is not a valid message.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// Encodes a message as one frame.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut frame = vec![CODEC_VERSION];
    // Writing into a Vec cannot fail, and every message type serializes.
    if let Err(err) = ciborium::into_writer(message, &mut frame) {
        unreachable!("encoding a message into memory failed: {err}");
    }
    frame
}

/// Decodes one frame.
pub fn decode(frame: &[u8]) -> Result<Message, DecodeError> {
    let (&version, body) = frame.split_first().ok_or(DecodeError::Empty)?;
    if version != CODEC_VERSION {
        return Err(DecodeError::Version(version));
    }
    let mut reader = body;
    let message = ciborium::from_reader(&mut reader)
        .map_err(|err| DecodeError::Malformed(err.to_string()))?;
    if !reader.is_empty() {
        return Err(DecodeError::Malformed(format!(
            "{} bytes after the message",
            reader.len()
        )));
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{DocChanges, Heads, Hello, PROTOCOL_VERSION, Push};
    use automerge::ChangeHash;

    fn push() -> Message {
        Message::Push(Push {
            batch: 7,
            docs: vec![DocChanges {
                id: "0123456789abcdef0123456789abcdef".into(),
                heads: Heads::new(vec![ChangeHash([3; 32]), ChangeHash([1; 32])]),
                data: vec![0x85, 0x6f, 0x4a, 0x83, 0, 1, 2],
            }],
        })
    }

    #[test]
    fn messages_round_trip() {
        let hello = Message::Hello(Hello {
            version: PROTOCOL_VERSION,
            team: "华东".into(),
            member: "lina".into(),
            device: "d1".into(),
            token: "t".into(),
        });
        for message in [hello, push()] {
            assert_eq!(decode(&encode(&message)), Ok(message));
        }
    }

    #[test]
    fn bytes_travel_as_byte_strings() {
        let frame = encode(&push());
        // A hash as a CBOR byte string is 2 bytes of header + 32; as an array of integers it
        // would be at least 32 more.
        assert!(frame.len() < 150, "frame is {} bytes", frame.len());
        assert!(frame.windows(32).any(|w| w == [3; 32]));
    }

    #[test]
    fn bad_frames_are_refused() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert_eq!(decode(&[9, 0xa0]), Err(DecodeError::Version(9)));
        assert!(matches!(
            decode(&[1, 0xff, 0x00]),
            Err(DecodeError::Malformed(_))
        ));
        let mut trailing = encode(&push());
        trailing.push(0);
        assert!(matches!(decode(&trailing), Err(DecodeError::Malformed(_))));
        let mut short_hash = encode(&push());
        let at = short_hash.windows(2).position(|w| w == [0x58, 32]).unwrap();
        short_hash[at + 1] = 31;
        assert!(matches!(
            decode(&short_hash),
            Err(DecodeError::Malformed(_))
        ));
    }
}
