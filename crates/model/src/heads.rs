//! A document's heads (the hashes of its latest changes) as bytes: 32 per hash, sorted, the
//! form both the device store and the sync protocol keep them in.

use automerge::ChangeHash;

/// The hashes sorted and concatenated.
pub fn to_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort_unstable();
    sorted.iter().flat_map(|hash| hash.0).collect()
}

/// Hashes from [`to_bytes`], sorted; `None` if the length is not a multiple of 32.
pub fn from_bytes(bytes: &[u8]) -> Option<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    let mut heads = bytes
        .chunks_exact(32)
        .map(|chunk| ChangeHash::try_from(chunk).ok())
        .collect::<Option<Vec<_>>>()?;
    heads.sort_unstable();
    Some(heads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip_sorted() {
        let heads = [ChangeHash([9; 32]), ChangeHash([1; 32])];
        let bytes = to_bytes(&heads);
        assert_eq!(bytes.len(), 64);
        assert_eq!(bytes[0], 1);
        assert_eq!(from_bytes(&bytes), Some(vec![heads[1], heads[0]]));
        assert_eq!(from_bytes(&bytes[1..]), None);
        assert_eq!(from_bytes(&[]), Some(vec![]));
    }
}
