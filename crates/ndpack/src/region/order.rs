//! Memory order of an N-d array.

/// Memory order of an N-d array: C (last index fastest) or Fortran (first index fastest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Row-major: the last index varies fastest.
    #[default]
    C,
    /// Column-major: the first index varies fastest.
    F,
}
