//! What the integration tests share: the paths of the fixtures written by other tools
//! (`../shared/fixtures` beside the project folder) and of the golden files in `tests/data`, and
//! the counting allocator of the hostile-input tests ([`alloc`]).

#![allow(dead_code)] // each test crate uses the helpers it needs

pub mod alloc;

use std::path::{Path, PathBuf};

/// A folder of `../shared/fixtures` (real data written by numcodecs, c-blosc, NumPy, ...).
pub fn fixtures(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(sub)
}

/// A folder of `crates/ndpack/tests/data` (golden files made by the scripts beside them).
pub fn data(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(sub)
}
