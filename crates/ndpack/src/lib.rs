//! # ndpack
//!
//! Compress, store and load N-dimensional numeric arrays, compatible with the Python tools people
//! use today:
//!
//! - [`codec`]: every numcodecs codec, byte-compatible with numcodecs (`{"id": "zstd", "level": 1}`
//!   means the same bytes here and there), with a registry and zarr-style pipelines.
//! - [`blosc`]: the Blosc1 and Blosc2 chunk formats, natively in Rust.
//! - [`zfp`]: ZFP compression compatible with zfpy streams and headers.
//! - [`npy`]: NPY/NPZ reading (zero-copy) and writing.
//! - [`Buffer`] and [`NDBuffer`]: ref-counted, sliceable, aligned memory blocks.
//!
//! ```
//! use ndpack::codec::{get_codec, ArrayRef};
//! let zlib = get_codec(&serde_json::json!({"id": "zlib", "level": 1})).unwrap();
//! let packed = zlib.encode(ArrayRef::bytes(b"abcabcabcabcabcabc")).unwrap();
//! let unpacked = zlib.decode(ArrayRef::bytes(packed.bytes())).unwrap();
//! assert_eq!(unpacked.bytes(), b"abcabcabcabcabcabc");
//! ```

pub mod array;
pub(crate) mod backend;
pub mod blosc;
pub mod buffer;
pub mod codec;
pub mod dtype;
pub mod error;
pub mod npy;
pub mod region;
pub mod threads;
pub mod zfp;

/// Hooks for the fuzz targets, compiled only with `--cfg fuzzing`; not part of the API.
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz {
    pub use crate::backend::bz2::{decompress_parallel, decompress_serial};
    pub use crate::backend::deflate::parallel::fuzz_parallel_inflate;
}

pub use buffer::{Buffer, NDBuffer};
pub use dtype::{ByteOrder, DataType, TypeKind};
pub use error::{Error, ErrorKind, Result};
pub use region::Order;
pub use threads::{get_num_threads, set_num_threads};
