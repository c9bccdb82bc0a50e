//! Chunked, blocked, compressed N-d arrays (b2nd / caterva).

pub mod zarr;
