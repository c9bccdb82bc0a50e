//! Every parallel path works in a child made by `fork` after the parent used it, also when the
//! fork happens while other threads keep ndpack's pool busy: the child starts its own pool
//! instead of waiting for threads that do not exist there, and keeps using the zstd contexts of
//! the thread that forked. A child that does not
//! finish within [`CHILD_LIMIT`] is killed and fails the test (a hang guard, not a timing check).
#![cfg(unix)]

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use ndpack::codec::{get_codec, ArrayRef};
use serde_json::{json, Value};

const CHILD_LIMIT: Duration = Duration::from_secs(120);

/// Compressible but not trivial bytes: a ramp of u32 with noisy stretches.
fn varied(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(len + 4);
    for i in 0..len.div_ceil(4) as u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = if (i / 4096) % 3 == 0 { x as u32 } else { i };
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Each parallel path: a codec config and an input large enough to take it.
fn paths() -> Vec<(Value, Vec<u8>)> {
    vec![
        (
            json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "typesize": 4}),
            varied(16 << 20, 1),
        ),
        (
            json!({"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "typesize": 4}),
            varied(8 << 20, 2),
        ),
        // At least 8 MiB, with the calling thread's zstd contexts (kept across calls).
        (json!({"id": "zstd", "level": 1}), varied(9 << 20, 3)),
        (json!({"id": "zlib", "level": 1}), varied(6 << 20, 4)),
        (json!({"id": "gzip", "level": 1}), varied(6 << 20, 5)),
        (json!({"id": "bz2", "level": 1}), varied(3 << 20, 6)),
        // More than one 8 MiB xz block: liblzma's multithreaded encoder and decoder.
        (json!({"id": "lzma", "preset": 0}), varied(9 << 20, 7)),
        (json!({"id": "fletcher32"}), varied(8 << 20, 8)),
    ]
}

/// Encodes and decodes every path; the encodings.
fn run_paths() -> Vec<Vec<u8>> {
    paths()
        .into_iter()
        .map(|(config, data)| {
            let codec = get_codec(&config).unwrap();
            let enc = codec.encode(ArrayRef::bytes(&data)).unwrap();
            let dec = codec.decode(ArrayRef::bytes(enc.bytes())).unwrap();
            assert!(dec.bytes() == data.as_slice(), "{config}");
            enc.bytes().to_vec()
        })
        .collect()
}

/// Runs `f` in a child made by `fork` now; whether it returned true (the child's exit status).
fn in_child(f: impl FnOnce() -> bool) -> bool {
    // SAFETY: the child runs `f` on the forking thread and leaves by `_exit`, without running
    // the parent's exit handlers or returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok = std::panic::catch_unwind(AssertUnwindSafe(f)).unwrap_or(false);
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: waits for our own child without blocking; `status` is a valid pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        assert!(r >= 0, "waitpid failed");
        if r == pid {
            return libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        }
        if start.elapsed() > CHILD_LIMIT {
            // SAFETY: kills and reaps our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("the child made by fork hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn parallel_paths_work_in_children_forked_after_use_and_while_the_pool_is_busy() {
    ndpack::set_num_threads(4).unwrap();
    let expected = run_paths();

    // Forked after use, with the pool idle and this thread's zstd contexts made.
    assert!(in_child(|| run_paths() == expected));
    // A grandchild too.
    assert!(in_child(|| in_child(|| run_paths() == expected)));
    // The number of threads is kept, and can be changed in the child.
    assert!(in_child(|| {
        ndpack::get_num_threads() == 4
            && ndpack::set_num_threads(2).ok() == Some(4)
            && run_paths() == expected
    }));

    // Forked while other threads are inside the pool and inside every path.
    let stop = Arc::new(AtomicBool::new(false));
    let inside = Arc::new(Barrier::new(2));
    let holder = {
        let (stop, inside) = (Arc::clone(&stop), Arc::clone(&inside));
        std::thread::spawn(move || {
            ndpack::threads::install(|| {
                inside.wait();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
    };
    inside.wait();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (stop, expected) = (Arc::clone(&stop), expected.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    assert!(run_paths() == expected);
                }
            })
        })
        .collect();
    for _ in 0..2 {
        assert!(in_child(|| run_paths() == expected));
    }
    stop.store(true, Ordering::Relaxed);
    holder.join().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    // And the parent still works.
    assert!(run_paths() == expected);
}
