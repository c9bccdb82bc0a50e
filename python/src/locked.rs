//! The locks of binding objects that Python threads share: [`Locked`], a value behind a
//! read-write lock that is only waited for with the GIL released, and [`ChunkLocks`], a striped
//! table of per-chunk write locks.
//!
//! A thread that holds one of these locks never waits for the GIL, so a thread that waits for a
//! lock with the GIL held ([`Locked::peek`]) cannot block the holder.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ndpack::{Error, ErrorKind, Result};
use pyo3::prelude::*;

use crate::errors::to_py;

/// A value shared by Python threads: reads take it shared (many at once), writes exclusively.
pub(crate) struct Locked<T> {
    inner: RwLock<T>,
    /// What the value is, for the error after a panicking write ("this array").
    what: &'static str,
}

impl<T: Send + Sync> Locked<T> {
    /// `value`, named `what` in errors.
    pub(crate) fn new(value: T, what: &'static str) -> Self {
        Locked {
            inner: RwLock::new(value),
            what,
        }
    }

    fn poisoned(&self) -> Error {
        Error::new(
            ErrorKind::Io,
            format!("a write to {} panicked; reopen it", self.what),
        )
    }

    /// The value, shared. Call with the GIL released, or through [`Locked::peek`].
    pub(crate) fn read(&self) -> Result<RwLockReadGuard<'_, T>> {
        self.inner.read().map_err(|_| self.poisoned())
    }

    /// The value, exclusively. Call with the GIL released.
    pub(crate) fn write(&self) -> Result<RwLockWriteGuard<'_, T>> {
        self.inner.write().map_err(|_| self.poisoned())
    }

    /// Runs `f` on the value, shared, with the GIL released.
    pub(crate) fn with_read<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&T) -> Result<R> + Send,
    ) -> PyResult<R> {
        py.detach(|| f(&*self.read()?)).map_err(to_py)
    }

    /// Runs `f` on the value, exclusively, with the GIL released.
    pub(crate) fn with_write<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut T) -> Result<R> + Send,
    ) -> PyResult<R> {
        py.detach(|| f(&mut *self.write()?)).map_err(to_py)
    }

    /// A quick read with the GIL held (no holder of the lock ever waits for the GIL).
    pub(crate) fn peek<R>(&self, f: impl FnOnce(&T) -> R) -> PyResult<R> {
        Ok(f(&*self.read().map_err(to_py)?))
    }
}

/// The number of stripes of a [`ChunkLocks`]: chunk `n` takes stripe `n % CHUNK_LOCKS`.
pub(crate) const CHUNK_LOCKS: usize = 64;

/// A striped table of per-chunk write locks. Writers lock the stripes of the chunks they
/// touch, in increasing order, before the [`Locked`] value they write; a change of structure
/// locks every stripe.
pub(crate) struct ChunkLocks {
    stripes: Box<[Mutex<()>]>,
}

impl ChunkLocks {
    pub(crate) fn new() -> Self {
        ChunkLocks {
            stripes: (0..CHUNK_LOCKS).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Locks the stripes of `chunks`, in increasing order (so that writers never wait for each
    /// other in a circle); they are let go when the guards drop. A stripe poisoned by a
    /// panicking writer is taken all the same: it guards no data. Call with the GIL released.
    pub(crate) fn lock(&self, chunks: impl IntoIterator<Item = usize>) -> Vec<MutexGuard<'_, ()>> {
        let mut ids: Vec<usize> = chunks.into_iter().map(|n| n % CHUNK_LOCKS).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|i| self.stripes[i].lock().unwrap_or_else(|e| e.into_inner()))
            .collect()
    }

    /// Locks every stripe (a change of structure).
    pub(crate) fn lock_all(&self) -> Vec<MutexGuard<'_, ()>> {
        self.lock(0..CHUNK_LOCKS)
    }
}
