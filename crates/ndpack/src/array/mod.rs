//! Chunked, blocked, compressed N-d arrays: [`b2nd`] (python-blosc2's `NDArray` and
//! python-caterva's arrays, stored as Blosc2 super-chunks).

pub mod b2nd;
