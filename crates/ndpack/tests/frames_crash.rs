//! Crash and full-disk tests of the frame writer. The test binary runs itself again as a child
//! writer (the same test function, told by `NDPACK_CRASH_*` environment variables): the child
//! opens a contiguous frame file or a sparse frame directory in mode `a` and appends, inserts,
//! updates (to chunks of other sizes and to special chunks) and deletes chunks, sets and deletes
//! vlmeta entries and compacts, printing `begin i` and `done i` around each operation; the parent
//! kills it with SIGKILL after a seeded random delay. Both sides derive the operations from the
//! same seed, so the parent knows the state after each operation: after every kill the frame
//! opens in ndpack (mode `r`, and mode `a`, which cuts what the crash left past the frame) and
//! holds exactly the state after the last `done` or, when the next operation had begun, the state
//! after it. Every chunk thus holds its old or its new bytes. The next run goes on from there.
//!
//! The full-disk tests run the child under `RLIMIT_FSIZE` (with SIGXFSZ ignored): the write
//! that passes the limit fails with an `Io` error, and the frame still opens with its previous
//! content.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ndpack::blosc::frame::{CParams, DParams, Mode, SChunk, Storage};
use ndpack::blosc::{v2, Compressor};
use ndpack::ErrorKind;

/// Items of 4 bytes per chunk.
const ITEMS: usize = 1000;
const CHUNK: usize = 4 * ITEMS;
/// Chunks a frame holds at most (deletes win above it).
const MOST_CHUNKS: usize = 24;
/// Vlmeta names in use.
const VL_NAMES: [&str; 4] = ["alpha", "beta", "gamma", "delta"];

/// A crash child stops by itself after this many operations (it is killed long before).
const CHILD_OPS: u64 = 20_000;

const ENV_ROLE: &str = "NDPACK_CRASH_ROLE";
const ENV_PATH: &str = "NDPACK_CRASH_PATH";
const ENV_SEED: &str = "NDPACK_CRASH_SEED";
const ENV_RUN: &str = "NDPACK_CRASH_RUN";

/// A xorshift generator.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The bytes of the chunk with content id `cid`: a ramp, a ramp with a noisy low byte, noise
/// (stored uncompressed, 4 KB), runs, or zeros (a special chunk once compressed), so that chunk
/// sizes differ.
fn content(cid: u64) -> Vec<u8> {
    if cid.is_multiple_of(11) {
        return vec![0; CHUNK];
    }
    let mut rng = Rng::new(cid);
    let kind = cid % 4;
    (0..ITEMS as u32)
        .flat_map(|k| {
            let v = match kind {
                0 => k.wrapping_mul(cid as u32 | 1),
                1 => k ^ (rng.next() as u32 & 0xff),
                2 => rng.next() as u32,
                _ => (k / 100) ^ cid as u32,
            };
            v.to_le_bytes()
        })
        .collect()
}

/// A vlmeta payload (a msgpack fixstr) for content id `cid`.
fn vl_content(cid: u64) -> Vec<u8> {
    let s = format!("v{cid}");
    let mut v = vec![0xa0 + s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

/// The logical content of a frame: chunk content ids, vlmeta name -> content id.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct State {
    chunks: Vec<u64>,
    vlmeta: BTreeMap<String, u64>,
}

#[derive(Debug, Clone)]
enum Op {
    Append(u64),
    Insert(usize, u64),
    Update(usize, u64),
    Delete(usize),
    VlSet(String, u64),
    VlDelete(String),
    Compact,
}

/// The operation number `i` of run `run` on a frame in state `s`, drawn from `rng`.
fn plan(rng: &mut Rng, run: u64, i: u64, s: &State) -> Op {
    let cid = (run << 20) | (i + 1);
    let n = s.chunks.len();
    let r = rng.below(100);
    if n >= MOST_CHUNKS && r < 50 {
        return Op::Delete(rng.below(n));
    }
    match r {
        0..=24 => Op::Append(cid),
        25..=54 if n > 0 => Op::Update(rng.below(n), cid),
        55..=64 => Op::Insert(rng.below(n + 1), cid),
        65..=79 if n > 1 => Op::Delete(rng.below(n)),
        80..=91 => Op::VlSet(VL_NAMES[rng.below(VL_NAMES.len())].to_string(), cid),
        92..=96 if !s.vlmeta.is_empty() => {
            let names: Vec<&String> = s.vlmeta.keys().collect();
            Op::VlDelete(names[rng.below(names.len())].clone())
        }
        97..=99 => Op::Compact,
        _ => Op::Append(cid),
    }
}

fn apply_state(s: &mut State, op: &Op) {
    match op {
        Op::Append(c) => s.chunks.push(*c),
        Op::Insert(at, c) => s.chunks.insert(*at, *c),
        Op::Update(at, c) => s.chunks[*at] = *c,
        Op::Delete(at) => {
            s.chunks.remove(*at);
        }
        Op::VlSet(name, c) => {
            s.vlmeta.insert(name.clone(), *c);
        }
        Op::VlDelete(name) => {
            s.vlmeta.remove(name);
        }
        Op::Compact => {}
    }
}

fn apply_frame(f: &mut SChunk, op: &Op) -> ndpack::Result<()> {
    let compress = |f: &SChunk, c: u64| v2::compress(&content(c), f.cparams());
    match op {
        Op::Append(c) => f.append_buffer(&content(*c)).map(drop),
        Op::Insert(at, c) => f.insert_chunk(*at, &compress(f, *c)?).map(drop),
        Op::Update(at, c) => f.update_chunk(*at, &compress(f, *c)?).map(drop),
        Op::Delete(at) => f.delete_chunk(*at).map(drop),
        Op::VlSet(name, c) => f.vlmeta_set(name, &vl_content(*c)),
        Op::VlDelete(name) => f.vlmeta_delete(name).map(drop),
        Op::Compact => f.compact(),
    }
}

fn cparams() -> CParams {
    CParams {
        codec: Compressor::Lz4,
        clevel: 5,
        typesize: 4,
        ..CParams::default()
    }
}

/// Creates the frame at `path` holding `state`.
fn create(path: &Path, contiguous: bool, state: &State) {
    let storage = Storage {
        urlpath: Some(path.to_path_buf()),
        contiguous,
        mode: Mode::Write,
        ..Storage::default()
    };
    let mut f = SChunk::new(CHUNK, cparams(), DParams::default(), storage).unwrap();
    f.begin_updates();
    for &c in &state.chunks {
        f.append_buffer(&content(c)).unwrap();
    }
    for (name, &c) in &state.vlmeta {
        f.vlmeta_set(name, &vl_content(c)).unwrap();
    }
    f.end_updates().unwrap();
}

/// Whether the frame `f` holds `state`; the first difference otherwise.
fn holds(f: &SChunk, state: &State) -> Result<(), String> {
    if f.nchunks() != state.chunks.len() {
        return Err(format!(
            "{} chunks, expected {}",
            f.nchunks(),
            state.chunks.len()
        ));
    }
    for (i, &c) in state.chunks.iter().enumerate() {
        let got = f
            .decompress_chunk(i)
            .map_err(|e| format!("chunk {i}: {e}"))?;
        if got != content(c) {
            return Err(format!("chunk {i} is not content {c}"));
        }
    }
    let mut names = f.vlmeta_names();
    names.sort();
    let want: Vec<String> = state.vlmeta.keys().cloned().collect();
    if names != want {
        return Err(format!("vlmeta {names:?}, expected {want:?}"));
    }
    for (name, &c) in &state.vlmeta {
        let got = f
            .vlmeta_get(name)
            .map_err(|e| format!("vlmeta {name}: {e}"))?;
        if got != Some(vl_content(c)) {
            return Err(format!("vlmeta {name} is not content {c}"));
        }
    }
    if f.nbytes() != (state.chunks.len() * CHUNK) as u64 {
        return Err(format!("nbytes {}", f.nbytes()));
    }
    Ok(())
}

fn temp_dir(what: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ndpack-crash-{what}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The child writer: opens the frame in mode `a` and runs the planned operations until it is
/// killed (or `limit` operations are done, or a write fails), printing `begin i` / `done i`; an error is printed
/// as `error i <kind> <message>` and ends the child.
fn child(limit: u64) {
    let path = PathBuf::from(std::env::var(ENV_PATH).unwrap());
    let seed: u64 = std::env::var(ENV_SEED).unwrap().parse().unwrap();
    let run: u64 = std::env::var(ENV_RUN).unwrap().parse().unwrap();
    let mut f = match SChunk::open(&path, Mode::Append) {
        Ok(f) => f,
        Err(e) => {
            println!("error open {:?} {e}", e.kind());
            std::process::exit(3);
        }
    };
    // The state the frame is in: its chunks are identified by the parent; the child only needs
    // their number and the vlmeta names to plan, as the parent does.
    let mut state = State {
        chunks: vec![0; f.nchunks()],
        vlmeta: f.vlmeta_names().into_iter().map(|n| (n, 0)).collect(),
    };
    println!("ready");
    let mut rng = Rng::new(seed);
    for i in 0..limit {
        let op = plan(&mut rng, run, i, &state);
        println!("begin {i} {op:?}");
        match apply_frame(&mut f, &op) {
            Ok(()) => println!("done {i}"),
            Err(e) => {
                println!("error {i} {:?} {e}", e.kind());
                std::process::exit(0);
            }
        }
        apply_state(&mut state, &op);
    }
    println!("finished");
    std::process::exit(0);
}

/// Runs `test` of this binary as a child in `role` on `path`.
fn spawn(test: &str, role: &str, path: &Path, seed: u64, run: u64) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV_ROLE, role)
        .env(ENV_PATH, path)
        .env(ENV_SEED, seed.to_string())
        .env(ENV_RUN, run.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    cmd
}

/// What a child printed: the number of operations done, whether the next one had begun, and
/// any error line.
fn journal(out: &str) -> (u64, bool, Option<String>) {
    let mut done = 0;
    let mut begun = false;
    let mut error = None;
    for line in out.lines() {
        if let Some(i) = line.strip_prefix("done ") {
            done = i.parse::<u64>().unwrap() + 1;
            begun = false;
        } else if line.starts_with("begin ") {
            begun = true;
        } else if line.starts_with("error ") {
            error = Some(line.to_string());
        }
    }
    (done, begun, error)
}

/// The parent: `runs` kills of a child writer on a frame (contiguous or sparse).
fn crash_runs(test: &str, contiguous: bool, runs: u64, seed: u64) {
    let dir = temp_dir(test);
    let path = dir.join(if contiguous { "f.b2frame" } else { "f.sframe" });
    let mut state = State {
        chunks: (1..=4).collect(),
        vlmeta: BTreeMap::from([("alpha".to_string(), 5)]),
    };
    create(&path, contiguous, &state);
    let mut rng = Rng::new(seed);
    let (mut killed_mid, mut total_done) = (0, 0);
    for run in 1..=runs {
        let child_seed = rng.next();
        let mut proc = spawn(test, "crash", &path, child_seed, run)
            .spawn()
            .unwrap();
        let mut out = BufReader::new(proc.stdout.take().unwrap());
        let mut text = String::new();
        // Wait until the child has opened the frame, then let it write for a while.
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                break;
            }
            text.push_str(&line);
            // (libtest prints `test <name> ... ` before the test's own output.)
            if line.trim_end().ends_with("ready") || line.starts_with("error") {
                break;
            }
        }
        std::thread::sleep(Duration::from_micros(rng.below(8_000) as u64));
        proc.kill().unwrap();
        proc.wait().unwrap();
        out.read_to_string(&mut text).unwrap();
        let (done, begun, error) = journal(&text);
        assert!(
            error.is_none(),
            "run {run}: the child failed: {error:?}\n{text}"
        );
        assert!(
            text.contains("ready"),
            "run {run}: the child did not start:\n{text}"
        );
        // The states after `done` and `done + 1` operations.
        let mut plan_rng = Rng::new(child_seed);
        let mut before = state.clone();
        for i in 0..done {
            let op = plan(&mut plan_rng, run, i, &before);
            apply_state(&mut before, &op);
        }
        let mut after = before.clone();
        let next = plan(&mut plan_rng, run, done, &after);
        apply_state(&mut after, &next);
        let f = SChunk::open(&path, Mode::Read)
            .unwrap_or_else(|e| panic!("run {run} after {done} ops: does not open: {e}"));
        state = match (holds(&f, &before), begun) {
            (Ok(()), _) => before,
            (Err(why), true) => match holds(&f, &after) {
                Ok(()) => {
                    killed_mid += 1;
                    after
                }
                Err(why2) => panic!(
                    "run {run}: killed in op {done} ({next:?}): neither old ({why}) nor new ({why2})"
                ),
            },
            (Err(why), false) => panic!("run {run}: after {done} ops: {why}"),
        };
        drop(f);
        // Mode a cuts what the crash left; the content stays.
        let f = SChunk::open(&path, Mode::Append).unwrap();
        holds(&f, &state).unwrap_or_else(|why| panic!("run {run}: after mode a: {why}"));
        total_done += done;
    }
    // The kills landed while writing, not only between operations.
    assert!(total_done > runs, "{total_done} operations in {runs} runs");
    let leftovers = |p: &Path| -> Vec<String> {
        std::fs::read_dir(p)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.ends_with(".chunk") && n != "chunks.b2frame" && n != "f.b2frame")
                    .collect()
            })
            .unwrap_or_default()
    };
    eprintln!(
        "{test}: {runs} kills, {total_done} operations, {killed_mid} committed but unreported; \
         files left beside the frame: {:?}, in it: {:?}",
        leftovers(&dir),
        leftovers(&path)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn role() -> Option<String> {
    std::env::var(ENV_ROLE).ok()
}

#[test]
fn crash_contiguous() {
    match role().as_deref() {
        Some("crash") => child(CHILD_OPS),
        _ => crash_runs("crash_contiguous", true, 250, 1),
    }
}

#[test]
fn crash_sparse() {
    match role().as_deref() {
        Some("crash") => child(CHILD_OPS),
        _ => crash_runs("crash_sparse", false, 250, 2),
    }
}

/// The parent of a full-disk run: the child writes under a file size limit of `limit` bytes
/// until a write fails; that must be an `Io` error, and the frame must hold the state after the
/// operations that succeeded.
fn full_disk(test: &str, contiguous: bool, limit: u64, seed: u64) {
    let dir = temp_dir(test);
    let path = dir.join(if contiguous { "f.b2frame" } else { "f.sframe" });
    let state = State {
        chunks: (1..=4).collect(),
        vlmeta: BTreeMap::from([("alpha".to_string(), 5)]),
    };
    create(&path, contiguous, &state);
    let mut cmd = spawn(test, "full", &path, seed, 1);
    // SAFETY: only async-signal-safe calls (setrlimit, signal) run between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (done, _, error) = journal(&text);
    let error = error.unwrap_or_else(|| panic!("{test}: no write failed:\n{text}"));
    let kind = format!("{:?}", ErrorKind::Io);
    assert!(
        error.split_whitespace().nth(2) == Some(kind.as_str()),
        "{test}: the failed write is not an Io error: {error}"
    );
    assert!(
        done > 0,
        "{test}: the limit stopped the first write:\n{text}"
    );
    let mut want = state.clone();
    let mut plan_rng = Rng::new(seed);
    for i in 0..done {
        let op = plan(&mut plan_rng, 1, i, &want);
        apply_state(&mut want, &op);
    }
    for mode in [Mode::Read, Mode::Append] {
        let f = SChunk::open(&path, mode).unwrap();
        holds(&f, &want).unwrap_or_else(|why| panic!("{test} ({mode:?}) after {error}: {why}"));
    }
    eprintln!("{test}: {done} operations, then {error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn full_disk_contiguous() {
    match role().as_deref() {
        Some("full") => child(1000),
        _ => full_disk("full_disk_contiguous", true, 60_000, 3),
    }
}

#[test]
fn full_disk_sparse() {
    match role().as_deref() {
        Some("full") => child(1000),
        // Each chunk file is under the limit until a noisy one (4 KB and more) comes.
        _ => full_disk("full_disk_sparse", false, 3_900, 4),
    }
}
