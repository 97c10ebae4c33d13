//! Pagination cursors: the last key read, as opaque URL-safe text.

use super::*;

pub(super) fn encode_cursor(k: &Item) -> String {
    let plain: HashMap<&str, &str> = k
        .iter()
        .filter_map(|(name, v)| v.as_s().ok().map(|v| (name.as_str(), v.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).unwrap_or_default())
}

/// A listing cursor: the last key of the table or of the participant or collection index.
pub(super) fn decode_cursor(cursor: &str) -> Result<Item, StoreError> {
    decode(
        cursor,
        &["pk", "sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk"],
    )
}

impl ExpiryCursor {
    pub(super) fn new(k: &Item) -> Self {
        Self(encode_cursor(k))
    }

    pub(super) fn key(&self) -> Result<Item, StoreError> {
        decode(&self.0, &["pk", "sk", "gsi1pk", "gsi1sk"])
    }
}

fn decode(cursor: &str, allowed: &[&str]) -> Result<Item, StoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let plain: HashMap<String, String> =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    if plain.is_empty() || plain.keys().any(|k| !allowed.contains(&k.as_str())) {
        return Err(StoreError::InvalidCursor);
    }
    Ok(plain.into_iter().map(|(k, v)| (k, s(v))).collect())
}
