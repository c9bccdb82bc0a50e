//! Bit shuffle and unshuffle with c-blosc's layout (the bitshuffle library's `trans_bit_elem`
//! on whole groups of 8 items; the remaining bytes are copied unshuffled).

use crate::error::{Error, ErrorKind, Result};

/// Bit-shuffles `src` into `dst` (same length) for items of `typesize` bytes.
pub fn bitshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    let _ = (typesize, src, dst);
    Err(Error::new(
        ErrorKind::Unsupported,
        "bitshuffle is not implemented yet",
    ))
}

/// Reverses [`bitshuffle`].
pub fn bitunshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) -> Result<()> {
    let _ = (typesize, src, dst);
    Err(Error::new(
        ErrorKind::Unsupported,
        "bitunshuffle is not implemented yet",
    ))
}
