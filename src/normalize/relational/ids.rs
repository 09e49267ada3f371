//! Row ids as dlt makes them: random for root rows (or a hash, see `hashes`), a SHAKE-128 digest of the parent's id,
//! the table and the position for child rows, in unpadded base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rand::RngCore;
use tiny_keccak::{Hasher as _, Shake, Xof};

/// Length in bytes of the digests behind `_dlt_id` (14 base64 characters).
const DLT_ID_BYTES: usize = 10;

/// Characters of a `_dlt_id`: [`DLT_ID_BYTES`] in unpadded base64.
const DLT_ID_CHARS: usize = (DLT_ID_BYTES * 4).div_ceil(3);

/// A random root row's `_dlt_id`, as text.
pub fn random_row_id() -> String {
    RowId::random().as_str().to_string()
}

/// A `_dlt_id` in text, kept on the stack.
#[derive(Clone, Copy)]
pub(super) struct RowId([u8; DLT_ID_CHARS]);

impl RowId {
    /// A random root row id.
    pub(super) fn random() -> Self {
        let mut bytes = [0u8; DLT_ID_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self::of(&bytes)
    }

    /// A child row's id: dlt's `digest128(f"{parent}_{table}_{idx}", 10)`.
    pub(super) fn child(parent: &str, table: &str, idx: usize) -> Self {
        let mut idx_text = itoa::Buffer::new();
        let mut digest = [0u8; DLT_ID_BYTES];
        shake128(
            &[
                parent.as_bytes(),
                b"_",
                table.as_bytes(),
                b"_",
                idx_text.format(idx).as_bytes(),
            ],
            &mut digest,
        );
        Self::of(&digest)
    }

    /// dlt's `digest128b(text, 10)`: the id of a hashed root row (see `hashes`).
    pub(super) fn digest(text: &[u8]) -> Self {
        let mut digest = [0u8; DLT_ID_BYTES];
        shake128(&[text], &mut digest);
        Self::of(&digest)
    }

    fn of(bytes: &[u8; DLT_ID_BYTES]) -> Self {
        let mut text = [0u8; DLT_ID_CHARS];
        // The buffer is exactly the encoded length, so encoding cannot fail.
        let _ = STANDARD_NO_PAD.encode_slice(bytes, &mut text);
        Self(text)
    }

    pub(super) fn as_str(&self) -> &str {
        // Base64 is ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// dlt's `digest128`: the first `len` bytes of the SHAKE-128 digest of the concatenated
/// `parts`, in unpadded base64.
pub fn digest128(parts: &[&[u8]], len: usize) -> String {
    let mut digest = [0u8; 32];
    let digest = &mut digest[..len.min(32)];
    shake128(parts, digest);
    STANDARD_NO_PAD.encode(digest)
}

/// Fills `out` with the SHAKE-128 digest of the concatenated `parts`.
fn shake128(parts: &[&[u8]], out: &mut [u8]) {
    let mut shake = Shake::v128();
    for part in parts {
        shake.update(part);
    }
    shake.squeeze(out);
}
