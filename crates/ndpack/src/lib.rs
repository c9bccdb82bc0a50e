//! # ndpack
//!
//! Compress, store and load N-dimensional numeric arrays, compatible with the Python tools people
//! use today:
//!
//! - [`codec`]: the numcodecs codecs, byte-compatible with numcodecs (`{"id": "zstd", "level": 1}`
//!   means the same bytes here and there), with a registry and zarr-style pipelines.
//! - [`blosc`]: the Blosc1 and Blosc2 chunk formats, natively in Rust, and Blosc2 super-chunks
//!   ([`blosc::frame::SChunk`]) in memory, in a frame file or in a sparse frame directory.
//! - `zfp`: ZFP compression compatible with zfpy streams and headers (the `zfp` feature).
//! - [`npy`]: NPY/NPZ reading (zero-copy) and writing.
//! - [`Buffer`] and [`NDBuffer`]: ref-counted, sliceable, aligned memory blocks, and the array
//!   type that codecs take and return.
//! - [`io`]: positional reads and writes over memory, files and memory maps.
//! - [`threads`]: the one thread pool that every parallel loop runs on.
//! - [`Error`]: one error type whose [`ErrorKind`] says what went wrong.
//!
//! ## Codecs and pipelines
//!
//! A codec is built from its numcodecs configuration; a [`Pipeline`](codec::Pipeline) runs
//! filters, then a compressor, as a zarr v2 array does.
//!
//! ```
//! use ndpack::codec::{get_codec, ArrayRef, Pipeline};
//! use ndpack::{DataType, Order};
//! use serde_json::json;
//!
//! let zlib = get_codec(&json!({"id": "zlib", "level": 1}))?;
//! assert_eq!(zlib.config(), json!({"id": "zlib", "level": 1}));
//! let packed = zlib.encode(ArrayRef::bytes(b"abcabcabcabcabcabc"))?;
//! assert_eq!(zlib.decode(ArrayRef::bytes(packed.bytes()))?.bytes(), b"abcabcabcabcabcabc");
//!
//! // Delta-encode 1000 int32 values, then compress them.
//! let pipeline = Pipeline::from_configs(
//!     &json!([{"id": "delta", "dtype": "<i4"}]),
//!     &json!({"id": "gzip", "level": 5}),
//! )?;
//! let data: Vec<u8> = (0..1000i32).flat_map(|v| (3 * v).to_le_bytes()).collect();
//! let dtype: DataType = "<i4".parse()?;
//! let encoded = pipeline.encode(ArrayRef::new(&data, dtype, vec![1000], Order::C)?)?;
//! assert!(encoded.bytes().len() < data.len() / 10);
//! assert_eq!(pipeline.decode(encoded.bytes())?.bytes(), &data[..]);
//! # Ok::<(), ndpack::Error>(())
//! ```
//!
//! ## Blosc
//!
//! Blosc1 chunks as numcodecs and c-blosc write them ([`blosc::v1`]), Blosc2 chunks as
//! python-blosc2 writes them ([`blosc::v2`]).
//!
//! ```
//! use ndpack::blosc::{v1, Compressor};
//!
//! let data: Vec<u8> = (0..10_000u32).flat_map(|v| (v / 10).to_le_bytes()).collect();
//! let opts = v1::Options { compressor: Compressor::BloscLz, typesize: 4, ..Default::default() };
//! let chunk = v1::compress(&data, &opts)?;
//! assert!(chunk.len() < data.len() / 4);
//! assert_eq!(v1::cbuffer_sizes(&chunk)?.0, data.len());
//! assert_eq!(v1::decompress(&chunk)?, data);
//! # Ok::<(), ndpack::Error>(())
//! ```
//!
//! Super-chunks and their frames, readable by python-blosc2 and caterva:
//!
//! ```
//! use ndpack::blosc::frame::{CParams, DParams, SChunk, Storage};
//!
//! let mut s = SChunk::new(4000, CParams { typesize: 4, ..Default::default() },
//!                         DParams::default(), Storage::default())?;
//! let data: Vec<u8> = (0..1000u32).flat_map(|v| v.to_le_bytes()).collect();
//! s.append_buffer(&data)?;
//! s.vlmeta_set("author", b"\xa3ann")?; // msgpack "ann"
//! let frame = s.to_cframe()?;
//! let back = SChunk::from_cframe(frame.into(), false)?;
//! assert_eq!(back.decompress_chunk(0)?, data);
//! # Ok::<(), ndpack::Error>(())
//! ```
//!
//! ## ZFP
//!
//! zfpy's streams: the same bytes for the same array and mode (the `zfp` feature).
//!
//! ```
//! # #[cfg(feature = "zfp")] {
//! use ndpack::zfp::{compress, decompress, ZfpMode, ZfpType};
//!
//! let values: Vec<f64> = (0..256).map(|i| (i as f64 / 10.0).sin()).collect();
//! let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
//! let stream = compress(&bytes, ZfpType::Double, &[16, 16], ZfpMode::FixedPrecision(32), true)?;
//! let array = decompress(&stream)?;
//! assert_eq!(array.shape(), [16, 16]);
//! assert_eq!(array.dtype().to_string(), "<f8");
//! # }
//! # Ok::<(), ndpack::Error>(())
//! ```
//!
//! ## NPY and NPZ
//!
//! NumPy's files, written as `np.save` / `np.savez` write them and read without copying the
//! array data.
//!
//! ```
//! use ndpack::npy::{self, Descr, NpzEntry, NpzReader, NpzWriter};
//! use ndpack::{Buffer, Order};
//!
//! let data: Vec<u8> = (0..6u16).flat_map(|v| v.to_le_bytes()).collect();
//! let descr = Descr::Scalar("<u2".parse()?);
//! let file = npy::write_npy_to_vec(&descr, &[2, 3], Order::C, &data)?;
//! let view = npy::read_npy(&file)?;
//! assert_eq!(view.shape(), &[2, 3]);
//! assert_eq!(view.data(), &data[..]);
//!
//! let mut writer = NpzWriter::new(true); // deflated, like np.savez_compressed
//! writer.add_array("a", &descr, &[2, 3], Order::C, &data);
//! let archive = NpzReader::open(Buffer::from_vec(writer.finish()?))?;
//! assert_eq!(archive.files(), ["a"]);
//! match archive.read("a")? {
//!     NpzEntry::Array(a) => assert_eq!(a.data().as_slice(), &data[..]),
//!     NpzEntry::Bytes(_) => unreachable!("an NPY member"),
//! }
//! # Ok::<(), ndpack::Error>(())
//! ```
//!
//! ## Buffers
//!
//! A [`Buffer`] is cheap to clone and slice: slices share the memory. An [`NDBuffer`] adds a
//! dtype, a shape and a memory order.
//!
//! ```
//! use ndpack::{Buffer, DataType, NDBuffer, Order};
//!
//! let buffer = Buffer::from_vec((0..24u8).collect());
//! let tail = buffer.slice(8..24);
//! assert_eq!(tail.as_ptr(), buffer[8..].as_ptr()); // no copy
//! let dtype: DataType = "<u2".parse()?;
//! let array = NDBuffer::new(tail, dtype, vec![2, 4], Order::C)?;
//! assert_eq!(array.byte_strides(), [8, 2]);
//! assert_eq!(array.num_items(), 8);
//! # Ok::<(), ndpack::Error>(())
//! ```
//!
//! ## Threads
//!
//! Blosc blocks, NPZ members, ZFP chunks and large deflate streams are processed in parallel on
//! one pool, sized by [`set_num_threads`] (0: all cores; `NDPACK_NUM_THREADS` sets the start).
//!
//! ```
//! let previous = ndpack::set_num_threads(2)?;
//! assert_eq!(ndpack::get_num_threads(), 2);
//! ndpack::set_num_threads(previous)?;
//! # Ok::<(), ndpack::Error>(())
//! ```
//!
//! ## Errors
//!
//! Every call returns [`Result`]; decoders return an error for bad input, never panic.
//!
//! ```
//! use ndpack::codec::{get_codec, ArrayRef};
//! use ndpack::ErrorKind;
//! use serde_json::json;
//!
//! let e = get_codec(&json!({"id": "no-such-codec"})).unwrap_err();
//! assert_eq!(e.kind(), ErrorKind::UnknownCodec);
//! let e = get_codec(&json!({"id": "zlib", "levle": 1})).unwrap_err();
//! assert_eq!(e.kind(), ErrorKind::InvalidConfig);
//!
//! let zlib = get_codec(&json!({"id": "zlib"}))?;
//! match zlib.decode(ArrayRef::bytes(b"not zlib data")) {
//!     Err(e) if matches!(e.kind(), ErrorKind::Corrupt | ErrorKind::Truncated) => {}
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), ndpack::Error>(())
//! ```
//!
//! ## Cargo features
//!
//! Every heavy back end is a feature, and all are on by default. With one off, its codec ids are
//! not registered (`get_codec` gives [`ErrorKind::UnknownCodec`] saying that the feature is off)
//! and Blosc gives [`ErrorKind::Unsupported`] for chunks that need its compressor, when writing
//! and when reading. Without any of them, ndpack still has zlib, gzip, the checksums, filters and
//! object codecs, Blosc with BloscLZ and zlib (and Snappy to read), and NPY/NPZ.
//!
//! | Feature | Brings | Back end |
//! |---|---|---|
//! | `zstd` | codec `zstd`; Blosc's zstd compressor | libzstd (C) |
//! | `lz4` | codec `lz4`; Blosc's lz4 and lz4hc compressors | liblz4 (C) |
//! | `bz2` | codec `bz2` | libbz2-rs (Rust) |
//! | `lzma` | codec `lzma` | liblzma (C) |
//! | `libdeflate` | one-shot inflate for zlib, gzip and NPZ members, and the pieces of parallel inflate (zlib-rs does them without it, slower) | libdeflate (C) |
//! | `zfp` | module `zfp`, codec `zfpy` | zfp-rs (Rust) |
//! | `pcodec` | codec `pcodec` | pco (Rust) |
//! | `bench-internals` (off) | makes the kernels public for the benches; not a stable API | |

pub mod array;
pub(crate) mod backend;
pub mod blosc;
pub mod buffer;
pub mod codec;
pub mod dtype;
pub mod error;
pub mod io;
pub mod npy;
pub mod region;
pub mod threads;
#[cfg(feature = "zfp")]
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
