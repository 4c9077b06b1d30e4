//! Documents at rest, packed: `compact` trains a zstd dictionary on the store's own documents
//! and saves each one compressed with it. A team's leads share their keys, actors and many
//! values, which a dictionary finds across documents where each document's own deflate cannot:
//! the sample team's documents take about 450 B each packed against 1,385 B with Automerge's
//! deflate (docs/benchmarks.md). A saved document is either Automerge's own bytes (written
//! since the last compact) or a zstd frame naming the dictionary it needs; both load the same.

use std::borrow::Cow;
use std::cell::RefCell;

use redb::ReadableTable;

use crate::error::StoreError;

/// The first bytes of a zstd frame (Automerge documents start with 0x85 0x6f 0x4a 0x83).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// zstd's level for packed documents: compaction is rare, and level 9 takes a tenth off what
/// level 3 leaves.
const LEVEL: i32 = 9;
/// The dictionary's size: 110 KiB (zstd's usual largest), once per store.
const DICTIONARY_BYTES: usize = 110 << 10;
/// Fewer documents than this are not worth a dictionary.
pub(crate) const MIN_SAMPLES: usize = 64;
/// Documents a dictionary is trained on, at most.
pub(crate) const MAX_SAMPLES: usize = 4096;

thread_local! {
    /// The last dictionary used on this thread, prepared: preparing one costs far more than
    /// decompressing a document with it.
    static PREPARED: RefCell<Option<(u32, Vec<u8>, zstd::dict::DecoderDictionary<'static>)>> =
        const { RefCell::new(None) };
}

/// A saved document's Automerge bytes: as stored, or unpacked with its dictionary.
pub(crate) fn unpack<'a>(
    saved: &'a [u8],
    dictionaries: &impl ReadableTable<u32, &'static [u8]>,
) -> Result<Cow<'a, [u8]>, StoreError> {
    if !saved.starts_with(&ZSTD_MAGIC) {
        return Ok(Cow::Borrowed(saved));
    }
    let corrupt = |why: &str| StoreError::Corrupt(format!("a packed document {why}"));
    let id = zstd::zstd_safe::get_dict_id_from_frame(saved)
        .ok_or_else(|| corrupt("names no dictionary"))?
        .get();
    let size = zstd::zstd_safe::get_frame_content_size(saved)
        .ok()
        .flatten()
        .and_then(|size| usize::try_from(size).ok())
        .ok_or_else(|| corrupt("does not say its size"))?;
    let dictionary = dictionaries
        .get(id)?
        .ok_or_else(|| corrupt(&format!("needs dictionary {id}, which the store lacks")))?;
    PREPARED.with(|prepared| {
        let mut prepared = prepared.borrow_mut();
        let fresh = !matches!(&*prepared, Some((held, bytes, _)) if *held == id && bytes.as_slice() == dictionary.value());
        if fresh {
            let bytes = dictionary.value().to_vec();
            let decoder = zstd::dict::DecoderDictionary::copy(&bytes);
            *prepared = Some((id, bytes, decoder));
        }
        let Some((_, _, decoder)) = prepared.as_ref() else {
            return Err(corrupt("has no dictionary prepared"));
        };
        let mut decompressor = zstd::bulk::Decompressor::with_prepared_dictionary(decoder)
            .map_err(|err| corrupt(&err.to_string()))?;
        decompressor
            .decompress(saved, size)
            .map(Cow::Owned)
            .map_err(|err| corrupt(&format!("does not unpack: {err}")))
    })
}

/// A dictionary trained on `samples` (documents' uncompressed bytes), with its id; `None` when
/// there are too few to train on.
pub(crate) fn train(samples: &[Vec<u8>]) -> Result<Option<(u32, Vec<u8>)>, StoreError> {
    if samples.len() < MIN_SAMPLES {
        return Ok(None);
    }
    let dictionary = zstd::dict::from_samples(samples, DICTIONARY_BYTES)
        .map_err(|err| StoreError::Storage(format!("cannot train a dictionary: {err}")))?;
    Ok(zstd::zstd_safe::get_dict_id_from_dict(&dictionary).map(|id| (id.get(), dictionary)))
}

/// Packs documents with one dictionary.
pub(crate) struct Packer {
    encoder: zstd::dict::EncoderDictionary<'static>,
}

impl Packer {
    /// A packer for `dictionary`.
    pub(crate) fn new(dictionary: &[u8]) -> Packer {
        Packer {
            encoder: zstd::dict::EncoderDictionary::copy(dictionary, LEVEL),
        }
    }

    /// `raw` (a document's uncompressed bytes), packed.
    pub(crate) fn pack(&self, raw: &[u8]) -> Result<Vec<u8>, StoreError> {
        // zstd's defaults write the content size and the dictionary's id, which `unpack` needs.
        let mut compressor = zstd::bulk::Compressor::with_prepared_dictionary(&self.encoder)
            .map_err(|err| StoreError::Storage(format!("cannot pack a document: {err}")))?;
        compressor
            .compress(raw)
            .map_err(|err| StoreError::Storage(format!("cannot pack a document: {err}")))
    }
}
