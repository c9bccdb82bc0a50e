//! ndpack's one thread pool (rayon), sized by [`set_num_threads`] (default: all cores).
//!
//! Parallel loops over blocks, chunks and members run through [`pool`]; front ends never spawn
//! threads of their own.

use std::sync::{Arc, RwLock};

use rayon::ThreadPool;

use crate::error::{Error, Result};

struct PoolState {
    threads: usize,
    pool: Arc<ThreadPool>,
}

fn build(threads: usize) -> Result<Arc<ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ndpack-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::invalid(format!("cannot start {threads} threads: {e}")))
}

fn state() -> &'static RwLock<Option<PoolState>> {
    static STATE: RwLock<Option<PoolState>> = RwLock::new(None);
    &STATE
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The pool that parallel work runs on (started on first use, then reused).
pub fn pool() -> Arc<ThreadPool> {
    if let Some(s) = state().read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return Arc::clone(&s.pool);
    }
    let mut guard = state().write().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = guard.as_ref() {
        return Arc::clone(&s.pool);
    }
    let threads = default_threads();
    let pool = build(threads).expect("the default thread pool starts");
    *guard = Some(PoolState {
        threads,
        pool: Arc::clone(&pool),
    });
    pool
}

/// Sets the number of threads of ndpack's pool (0 means all cores). Returns the previous number.
pub fn set_num_threads(threads: usize) -> Result<usize> {
    let threads = if threads == 0 {
        default_threads()
    } else {
        threads
    };
    let previous = get_num_threads();
    let mut guard = state().write().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().map(|s| s.threads) != Some(threads) {
        *guard = Some(PoolState {
            threads,
            pool: build(threads)?,
        });
    }
    Ok(previous)
}

/// The number of threads of ndpack's pool.
pub fn get_num_threads() -> usize {
    state()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|s| s.threads)
        .unwrap_or_else(default_threads)
}

/// Runs `f` inside ndpack's pool, so that rayon's parallel iterators in it use that pool.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    pool().install(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_get_threads() {
        let before = get_num_threads();
        set_num_threads(2).unwrap();
        assert_eq!(get_num_threads(), 2);
        assert_eq!(install(rayon::current_num_threads), 2);
        set_num_threads(before).unwrap();
    }
}
