//! b2nd arrays (python-blosc2's `NDArray`, python-caterva 0.7.3's arrays): the `b2nd` and
//! `caterva` metalayers ([`meta`]).

pub mod layout;
pub mod meta;
pub mod partition;

pub use layout::{BlockPart, ChunkLayout, ChunkPart};
pub use meta::{ArrayMeta, Dtype, B2ND_MAX_DIM, CATERVA_MAX_DIM};
pub use partition::{compute_chunks_blocks, CacheInfo, Platform};
