//! BloscLZ: the LZ77 codec of c-blosc (compatible with c-blosc 1.x and c-blosc2).

use crate::error::{Error, ErrorKind, Result};

/// Compresses `src` into `dst` at `clevel` (1-9). Returns the compressed size, or 0 when the
/// output would not fit in `dst` or would not be smaller than the input.
pub fn compress(clevel: u8, src: &[u8], dst: &mut [u8]) -> usize {
    let _ = (clevel, src, dst);
    0
}

/// Decompresses a BloscLZ stream into `dst`; returns the number of bytes written.
/// Corrupt or truncated input is an error, never a panic or an out-of-bounds access.
pub fn decompress(src: &[u8], dst: &mut [u8]) -> Result<usize> {
    let _ = (src, dst);
    Err(Error::new(
        ErrorKind::Unsupported,
        "blosclz decoding is not implemented yet",
    ))
}
