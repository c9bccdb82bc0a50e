//! ndpack's one thread pool (rayon), sized by [`set_num_threads`] (default: the environment
//! variable `NDPACK_NUM_THREADS` when it holds a positive integer, else all cores).
//!
//! Parallel loops over blocks, chunks and members run through [`pool`]; front ends never spawn
//! threads of their own. The `ordered` submodule encodes items of unknown size from both ends
//! into one output, with the bytes of a serial loop.
//!
//! # Fork
//!
//! A child made by `fork` runs only the thread that called `fork`: the pool's threads do not
//! exist there, and a lock that another thread held at that moment stays locked forever. ndpack
//! therefore keeps every state that holds threads or locks across calls per process
//! (`PerProcess`): the first use in a child starts from fresh state (a new pool of the same
//! size), and the parent's state is left in place, never dropped (dropping a pool waits for
//! threads that do not exist in the child). That is a bounded leak: one state per fork. Forks are
//! counted by a `pthread_atfork` handler, so telling whether a state belongs to the current
//! process costs an atomic load (`getpid` is a system call); a fork that bypasses the C library's
//! `fork` (a raw `clone` system call) is not seen.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use rayon::ThreadPool;

use crate::error::{Error, Result};

mod ordered;

#[cfg(test)]
pub(crate) use ordered::testing as ordered_testing;
pub(crate) use ordered::two_ended;

/// The number of forks between the process that started the program and this one, counted in
/// each child by the handler [`watch_forks`] registers.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// Keys of processes when the fork handler cannot be registered: the process id, with this bit
/// set so that it never equals a fork count.
#[cfg(unix)]
const PID_KEY: u64 = 1 << 63;

/// Whether the fork handler is registered (set once, before any [`PerProcess`] state exists).
#[cfg(unix)]
static WATCHED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Registers (once) the `pthread_atfork` handler that counts forks in [`FORKS`].
#[cfg(unix)]
fn watch_forks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    extern "C" fn in_child() {
        // An atomic add: async-signal-safe, as a handler run in the child of a multithreaded
        // process must be.
        FORKS.fetch_add(1, Ordering::Relaxed);
    }
    ONCE.call_once(|| {
        // SAFETY: registers a child handler that only increments an atomic; no prepare or
        // parent handler.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
        WATCHED.store(rc == 0, Ordering::Relaxed);
    });
}

/// This process's key: equal for every call in one process, different in a child made by
/// `fork` from its parent's (and from any ancestor's).
#[cfg(unix)]
pub(crate) fn process_key() -> u64 {
    watch_forks();
    if WATCHED.load(Ordering::Relaxed) {
        FORKS.load(Ordering::Relaxed)
    } else {
        PID_KEY | u64::from(std::process::id())
    }
}

/// This process's key (a constant: there is no `fork` on this platform).
#[cfg(not(unix))]
pub(crate) fn process_key() -> u64 {
    FORKS.load(Ordering::Relaxed)
}

/// A value of which each process has its own: the first [`PerProcess::get`] in a process
/// (the program's, or a child made by `fork`) makes it with the `fresh` function, which sees the
/// value of the parent, if any, and may take what is safe to take from it (what a lock that is
/// free guards: [`std::sync::Mutex::try_lock`] never blocks). The parent's value is never dropped
/// in the child. Meant for `static` items.
pub(crate) struct PerProcess<T: Send + Sync + 'static> {
    /// The current process's slot, or one of an ancestor's, or null. Slots are never freed
    /// while reachable.
    slot: AtomicPtr<Slot<T>>,
    fresh: fn(Option<&T>) -> T,
    _value: PhantomData<T>,
}

struct Slot<T> {
    process: u64,
    value: T,
}

impl<T: Send + Sync + 'static> PerProcess<T> {
    /// A value made on first use in each process by `fresh` (given the parent's value in a
    /// child made by `fork`).
    pub(crate) const fn new(fresh: fn(Option<&T>) -> T) -> Self {
        PerProcess {
            slot: AtomicPtr::new(std::ptr::null_mut()),
            fresh,
            _value: PhantomData,
        }
    }

    /// This process's value.
    #[inline]
    pub(crate) fn get(&self) -> &T {
        let key = process_key();
        let slot = self.slot.load(Ordering::Acquire);
        // SAFETY: a non-null pointer here was published by `renew` from `Box::into_raw` and is
        // never freed while `self` is reachable (see `Drop`).
        match unsafe { slot.as_ref() } {
            Some(s) if s.process == key => &s.value,
            _ => self.renew(slot, key),
        }
    }

    /// Publishes a fresh slot for process `key` in place of `old` (a parent's, or null), which
    /// is left allocated.
    #[cold]
    fn renew(&self, mut old: *mut Slot<T>, key: u64) -> &T {
        loop {
            // SAFETY: as in `get`: published slots are never freed while reachable.
            let parent = unsafe { old.as_ref() };
            if let Some(s) = parent.filter(|s| s.process == key) {
                return &s.value;
            }
            let new = Box::into_raw(Box::new(Slot {
                process: key,
                value: (self.fresh)(parent.map(|s| &s.value)),
            }));
            match self
                .slot
                .compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire)
            {
                // SAFETY: `new` is now published and never freed while reachable.
                Ok(_) => return unsafe { &(*new).value },
                Err(now) => {
                    // SAFETY: `new` was never published; this is its only owner.
                    drop(unsafe { Box::from_raw(new) });
                    old = now;
                }
            }
        }
    }
}

impl<T: Send + Sync + 'static> Drop for PerProcess<T> {
    fn drop(&mut self) {
        let slot = *self.slot.get_mut();
        // SAFETY: as in `get`; `&mut self` means no reference from `get` is alive.
        if unsafe { slot.as_ref() }.is_some_and(|s| s.process == process_key()) {
            // SAFETY: the slot was made by `Box::into_raw` in this process and is freed once.
            drop(unsafe { Box::from_raw(slot) });
        }
    }
}

/// What a free lock guards in the parent's value, taken for a child's fresh value (nothing when
/// the lock was held by a thread at the fork: that thread does not exist in the child).
pub(crate) fn take_unlocked<V: Default>(parent: Option<&std::sync::Mutex<V>>) -> V {
    match parent.map(std::sync::Mutex::try_lock) {
        Some(Ok(mut v)) => std::mem::take(&mut *v),
        Some(Err(std::sync::TryLockError::Poisoned(e))) => std::mem::take(&mut *e.into_inner()),
        _ => V::default(),
    }
}

struct PoolState {
    threads: usize,
    pool: Arc<ThreadPool>,
}

/// The pool's size once set or started (0: not yet), kept by a child made by `fork`.
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// This process's pool, started on first use. A child's first use starts a pool of its own; the
/// parent's, whose threads do not exist in the child, is never dropped there.
static POOL: PerProcess<RwLock<Option<PoolState>>> = PerProcess::new(|_| RwLock::new(None));

fn read(state: &RwLock<Option<PoolState>>) -> RwLockReadGuard<'_, Option<PoolState>> {
    state.read().unwrap_or_else(|e| e.into_inner())
}

fn write(state: &RwLock<Option<PoolState>>) -> RwLockWriteGuard<'_, Option<PoolState>> {
    state.write().unwrap_or_else(|e| e.into_inner())
}

fn build(threads: usize) -> Result<Arc<ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("ndpack-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::invalid_argument(format!("cannot start {threads} threads: {e}")))
}

/// The environment variable that sets the pool's default size.
pub const NUM_THREADS_ENV: &str = "NDPACK_NUM_THREADS";

/// A thread count from the value of [`NUM_THREADS_ENV`]: a positive integer, else `None`.
fn parse_threads(value: &str) -> Option<usize> {
    value.trim().parse::<usize>().ok().filter(|&n| n > 0)
}

/// `NDPACK_NUM_THREADS` when it holds a positive integer, else all cores.
fn default_threads() -> usize {
    if let Some(n) = std::env::var(NUM_THREADS_ENV)
        .ok()
        .and_then(|v| parse_threads(&v))
    {
        return n;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The pool that parallel work runs on (started on first use, then reused; in a child made by
/// `fork`, a new one of the same size).
pub fn pool() -> Arc<ThreadPool> {
    let state = POOL.get();
    if let Some(s) = read(state).as_ref() {
        return Arc::clone(&s.pool);
    }
    let mut guard = write(state);
    if let Some(s) = guard.as_ref() {
        return Arc::clone(&s.pool);
    }
    let threads = get_num_threads();
    let pool = build(threads).expect("the default thread pool starts");
    THREADS.store(threads, Ordering::Relaxed);
    *guard = Some(PoolState {
        threads,
        pool: Arc::clone(&pool),
    });
    pool
}

/// Sets the number of threads of ndpack's pool (0 means the default: `NDPACK_NUM_THREADS`, else
/// all cores). Returns the previous number.
pub fn set_num_threads(threads: usize) -> Result<usize> {
    let threads = if threads == 0 {
        default_threads()
    } else {
        threads
    };
    let previous = get_num_threads();
    let mut guard = write(POOL.get());
    if guard.as_ref().map(|s| s.threads) != Some(threads) {
        *guard = Some(PoolState {
            threads,
            pool: build(threads)?,
        });
    }
    THREADS.store(threads, Ordering::Relaxed);
    Ok(previous)
}

/// The number of threads of ndpack's pool.
pub fn get_num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

/// The callers that hold a [`Share`] now.
static SHARING: AtomicUsize = AtomicUsize::new(0);

/// A caller's share of the pool while it holds it (see [`share`]).
pub(crate) struct Share {
    workers: usize,
}

impl Share {
    /// The workers this caller may use, itself included: the pool's threads divided among the
    /// callers sharing it when this one came, at least 1.
    pub(crate) fn workers(&self) -> usize {
        self.workers
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        SHARING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Takes a share of the pool for one parallel call made from outside it: with `n` callers at
/// once (Python threads reading one array, say), each gets `threads / n` workers, so that
/// callers that already keep every core busy run their work on their own threads instead of
/// queueing it behind each other's on the pool.
pub(crate) fn share() -> Share {
    let callers = SHARING.fetch_add(1, Ordering::Relaxed) + 1;
    Share {
        workers: (get_num_threads() / callers).max(1),
    }
}

/// Runs `f` inside ndpack's pool, so that rayon's parallel iterators in it use that pool.
pub fn install<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    pool().install(f)
}

/// Locks `m`, ignoring poisoning (the guarded values stay consistent across a panic).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` on every item of `items` with up to `workers` workers, the calling thread being one
/// of them: the others are jobs on the pool, and every worker takes the next item from one
/// shared queue until it is empty. With one worker (or one item) everything runs on the calling
/// thread, with no trip to the pool; with more, the caller starts on the first item while the
/// pool's threads wake up, instead of sleeping until they are done. The first error stops the
/// workers and is returned.
pub(crate) fn for_each_with_caller<I, F>(items: I, workers: usize, f: F) -> Result<()>
where
    I: Iterator + Send,
    I::Item: Send,
    F: Fn(I::Item) -> Result<()> + Sync,
{
    let mut items = items.peekable();
    if workers <= 1 {
        return items.try_for_each(f);
    }
    let first = match items.next() {
        Some(first) if items.peek().is_some() => first,
        Some(only) => return f(only),
        None => return Ok(()),
    };
    let queue = std::sync::Mutex::new(Some(items));
    let failed = std::sync::Mutex::new(None);
    let work = |mut next: Option<I::Item>| loop {
        let item = match next.take() {
            Some(item) => item,
            None => match lock(&queue).as_mut().and_then(Iterator::next) {
                Some(item) => item,
                None => break,
            },
        };
        if let Err(e) = f(item) {
            *lock(&queue) = None;
            lock(&failed).get_or_insert(e);
            break;
        }
    };
    pool().in_place_scope(|s| {
        for _ in 1..workers {
            s.spawn(|_| work(None));
        }
        work(Some(first));
    });
    match failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
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

    #[test]
    fn thread_counts_from_the_environment_are_positive_integers() {
        assert_eq!(parse_threads("3"), Some(3));
        assert_eq!(parse_threads(" 12\n"), Some(12));
        assert_eq!(parse_threads("0"), None);
        assert_eq!(parse_threads("-1"), None);
        assert_eq!(parse_threads("two"), None);
        assert_eq!(parse_threads(""), None);
    }

    #[test]
    fn process_key_is_stable_within_a_process() {
        assert_eq!(process_key(), process_key());
    }

    #[test]
    fn per_process_makes_its_value_once() {
        use std::sync::atomic::AtomicUsize;
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let value = PerProcess::new(|parent: Option<&usize>| {
            assert!(parent.is_none());
            MADE.fetch_add(1, Ordering::Relaxed) + 10
        });
        let first: *const usize = value.get();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| assert_eq!(*value.get(), 10));
            }
        });
        assert!(std::ptr::eq(first, value.get()));
        assert_eq!(MADE.load(Ordering::Relaxed), 1);
    }

    /// Runs `f` in a child made by `fork` now; whether it returned true. A child still running
    /// after two minutes is killed and fails the test (a hang guard).
    #[cfg(unix)]
    fn in_child(f: impl FnOnce() -> bool) -> bool {
        // SAFETY: the child runs `f` on the forking thread and leaves by `_exit`.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(false);
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(i32::from(!ok)) };
        }
        let start = std::time::Instant::now();
        loop {
            let mut status = 0;
            // SAFETY: waits for our own child without blocking; `status` is a valid pointer.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            assert!(r >= 0, "waitpid failed");
            if r == pid {
                return libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
            }
            if start.elapsed() > std::time::Duration::from_secs(120) {
                // SAFETY: kills and reaps our own child.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, &mut status, 0);
                }
                panic!("the child made by fork hangs");
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_child_gets_its_own_key_pool_and_values() {
        use rayon::prelude::*;
        static VALUE: PerProcess<std::sync::Mutex<Vec<u8>>> =
            PerProcess::new(|parent| std::sync::Mutex::new(take_unlocked(parent)));
        VALUE.get().lock().unwrap().push(7);
        let parent_key = process_key();
        let sum = || install(|| (0..1000u64).into_par_iter().sum::<u64>()) == 499_500;
        assert!(sum());
        assert!(in_child(|| {
            process_key() != parent_key
                && process_key() == process_key()
                && *VALUE.get().lock().unwrap() == [7]
                && get_num_threads() == install(rayon::current_num_threads)
                && sum()
        }));
        assert_eq!(process_key(), parent_key);
        assert_eq!(*VALUE.get().lock().unwrap(), [7]);
        assert!(sum());
    }

    #[cfg(unix)]
    #[test]
    fn a_child_never_waits_for_locks_or_workers_held_at_the_fork() {
        use rayon::prelude::*;
        use std::sync::{Barrier, Mutex};
        static VALUE: PerProcess<Mutex<Vec<u8>>> =
            PerProcess::new(|parent| Mutex::new(take_unlocked(parent)));
        VALUE.get().lock().unwrap().push(7);
        let sum = || install(|| (0..1000u64).into_par_iter().sum::<u64>()) == 499_500;
        assert!(sum());
        // Another thread holds the value's lock, the pool's state lock and one of its workers
        // while this one forks.
        let (held, release) = (Barrier::new(2), Barrier::new(2));
        let ok = std::thread::scope(|s| {
            s.spawn(|| {
                let _value = VALUE.get().lock().unwrap();
                install(|| {
                    let _state = write(POOL.get());
                    held.wait();
                    release.wait();
                });
            });
            held.wait();
            let ok = in_child(|| VALUE.get().lock().unwrap().is_empty() && sum());
            release.wait();
            ok
        });
        assert!(ok);
        assert_eq!(*VALUE.get().lock().unwrap(), [7]);
        assert!(sum());
    }

    #[test]
    fn a_free_lock_is_taken_a_held_one_is_not() {
        let m = std::sync::Mutex::new(vec![1u8, 2]);
        {
            let _held = m.lock().unwrap();
            assert!(take_unlocked(Some(&m)).is_empty());
        }
        assert_eq!(take_unlocked(Some(&m)), vec![1, 2]);
        assert!(m.lock().unwrap().is_empty());
        assert!(take_unlocked::<Vec<u8>>(None).is_empty());
    }
}
