//! The content hash: SHA-256 of a text as lowercase hex, what the log records for every
//! essay (`EssayRef::content_sha256`), the content store keeps next to each text, and the
//! prompt hash is built on.

use sha2::{Digest, Sha256};

/// SHA-256 of a text as lowercase hex: what `EssayRef::content_sha256` records.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_hashes_to_its_sha256_in_lowercase_hex() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
