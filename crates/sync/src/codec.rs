//! The frame codec: one message per websocket binary frame, a format byte then CBOR, or then
//! zstd-compressed CBOR.
//!
//! CBOR (RFC 8949) through `ciborium`: self-describing, compact for byte strings (documents
//! travel as raw bytes, not base64), and readable from any language. The leading byte is the
//! format, so a later layout can be told apart before anything is parsed.
//!
//! A frame of [`COMPRESS_FROM`] bytes or more is compressed with zstd when that saves a tenth:
//! a bootstrap's frames hold hundreds of documents with the same keys, actors and values, which
//! one zstd frame finds across documents where each document's own deflate cannot
//! (docs/benchmarks.md has the figures). A compressed frame declares its size, and one that
//! would expand past [`MAX_DECODED_BYTES`] is refused before anything is allocated.

use crate::message::Message;

/// The format byte of a frame holding plain CBOR.
pub const CODEC_VERSION: u8 = 1;
/// The format byte of a frame holding zstd-compressed CBOR (one zstd frame with its content
/// size).
pub const CODEC_ZSTD: u8 = 2;
/// Frames shorter than this are sent as plain CBOR.
pub const COMPRESS_FROM: usize = 1024;
/// zstd's level: 3, its default, compresses a 1 MiB frame of documents in a few milliseconds.
const ZSTD_LEVEL: i32 = 3;
/// The most a compressed frame may expand to.
pub const MAX_DECODED_BYTES: u64 = 64 << 20;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The frame is empty.
    #[error("empty frame")]
    Empty,
    /// The frame starts with a codec version this code does not know.
    #[error(
        "frame codec version {0} is not supported (this side speaks {CODEC_VERSION} and {CODEC_ZSTD})"
    )]
    Version(u8),
    /// A compressed frame that does not say its size, or would expand past the limit.
    #[error("a compressed frame must declare a size of at most {MAX_DECODED_BYTES} bytes")]
    TooLarge,
    /// A compressed frame that does not decompress.
    #[error("compressed frame: {0}")]
    Compression(String),
    /// The frame's CBOR is not a valid message.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// Encodes a message as one frame, compressed when that pays.
pub fn encode(message: &Message) -> Vec<u8> {
    let plain = encode_plain(message);
    if plain.len() < COMPRESS_FROM {
        return plain;
    }
    match zstd::bulk::compress(&plain[1..], ZSTD_LEVEL) {
        Ok(packed) if (packed.len() + 1) * 10 < plain.len() * 9 => {
            let mut frame = Vec::with_capacity(packed.len() + 1);
            frame.push(CODEC_ZSTD);
            frame.extend_from_slice(&packed);
            frame
        }
        _ => plain,
    }
}

/// Encodes a message as one plain CBOR frame.
pub fn encode_plain(message: &Message) -> Vec<u8> {
    let mut frame = vec![CODEC_VERSION];
    // Writing into a Vec cannot fail, and every message type serializes.
    if let Err(err) = ciborium::into_writer(message, &mut frame) {
        unreachable!("encoding a message into memory failed: {err}");
    }
    frame
}

/// Decodes one frame, plain or compressed.
pub fn decode(frame: &[u8]) -> Result<Message, DecodeError> {
    let (&version, body) = frame.split_first().ok_or(DecodeError::Empty)?;
    match version {
        CODEC_VERSION => parse(body),
        CODEC_ZSTD => {
            let size = zstd::zstd_safe::get_frame_content_size(body)
                .map_err(|_| DecodeError::Compression("not a zstd frame".to_owned()))?
                .filter(|&size| size <= MAX_DECODED_BYTES)
                .ok_or(DecodeError::TooLarge)?;
            // The declared size bounds the allocation; a frame that lies about it fails.
            let size = usize::try_from(size).map_err(|_| DecodeError::TooLarge)?;
            let body = zstd::bulk::decompress(body, size)
                .map_err(|err| DecodeError::Compression(err.to_string()))?;
            parse(&body)
        }
        other => Err(DecodeError::Version(other)),
    }
}

fn parse(body: &[u8]) -> Result<Message, DecodeError> {
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
            ticket: String::new(),
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

    fn big_push() -> Message {
        let doc = b"company contact phone 13800000000 owner lina stage discovery ".repeat(10);
        Message::Push(Push {
            batch: 1,
            docs: (0..64)
                .map(|n| DocChanges {
                    id: format!("{n:032x}"),
                    heads: Heads::default(),
                    data: doc.clone(),
                })
                .collect(),
        })
    }

    #[test]
    fn large_frames_are_compressed_and_round_trip() {
        let message = big_push();
        let frame = encode(&message);
        assert_eq!(frame[0], CODEC_ZSTD);
        assert!(
            frame.len() * 4 < encode_plain(&message).len(),
            "{}",
            frame.len()
        );
        assert_eq!(decode(&frame), Ok(message));
        // Small frames stay plain.
        assert_eq!(encode(&push())[0], CODEC_VERSION);
    }

    #[test]
    fn a_compressed_frame_that_would_expand_too_far_is_refused_unread() {
        let mut frame = vec![CODEC_ZSTD];
        let huge = vec![0u8; (MAX_DECODED_BYTES + 1) as usize];
        frame.extend(zstd::bulk::compress(&huge, 1).unwrap());
        assert!(frame.len() < 64 << 10, "a bomb is small: {}", frame.len());
        assert_eq!(decode(&frame), Err(DecodeError::TooLarge));
        // One that does not declare its size is refused too.
        let mut streamed = vec![CODEC_ZSTD];
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
        std::io::Write::write_all(&mut encoder, &encode_plain(&push())[1..]).unwrap();
        streamed.extend(encoder.finish().unwrap());
        assert_eq!(decode(&streamed), Err(DecodeError::TooLarge));
        assert!(matches!(
            decode(&[CODEC_ZSTD, 1, 2, 3]),
            Err(DecodeError::Compression(_))
        ));
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
