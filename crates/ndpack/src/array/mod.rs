//! Chunked, blocked, compressed N-d arrays: [`b2nd`] (python-blosc2's `NDArray` and
//! python-caterva's arrays, stored as Blosc2 super-chunks) and [`zarr`] (batched chunk reads and
//! writes of zarr arrays through the zarr v3 codec chain).

pub mod b2nd;
pub mod zarr;
