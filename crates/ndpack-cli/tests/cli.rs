//! The `ndpack` binary run as a user runs it: `pack`, `unpack --slice`, `info` and `demo` on
//! real files, the results checked item by item; and bad input (missing files, bad options,
//! damaged frames, keys out of range) giving a one-line error and a nonzero exit, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndpack::npy::{self, Descr};
use ndpack::Order;

fn ndpack(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ndpack"))
        .args(args)
        .output()
        .expect("the ndpack binary runs")
}

fn ok(args: &[&str]) -> String {
    let out = ndpack(args);
    assert!(
        out.status.success(),
        "ndpack {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail cleanly; returns its stderr.
fn fails(args: &[&str]) -> String {
    let out = ndpack(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "ndpack {args:?} succeeded");
    assert_ne!(
        out.status.code(),
        Some(101),
        "ndpack {args:?} panicked: {err}"
    );
    assert!(
        out.status.code().is_some(),
        "ndpack {args:?} died of a signal"
    );
    assert!(!err.contains("panicked"), "ndpack {args:?} panicked: {err}");
    err
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("ndpack-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A (37, 23) float64 array, value 100*i + j, saved as .npy in `order`.
fn write_2d(path: &str, order: Order) -> Vec<f64> {
    let (n, m) = (37, 23);
    let c: Vec<f64> = (0..n * m).map(|k| (100 * (k / m) + k % m) as f64).collect();
    let stored: Vec<f64> = match order {
        Order::C => c.clone(),
        Order::F => (0..n * m).map(|k| c[(k % n) * m + k / n]).collect(),
    };
    let bytes: Vec<u8> = stored.iter().flat_map(|v| v.to_le_bytes()).collect();
    let descr = Descr::Scalar("<f8".parse().unwrap());
    std::fs::write(
        path,
        npy::write_npy_to_vec(&descr, &[n, m], order, &bytes).unwrap(),
    )
    .unwrap();
    c
}

fn read_f8(path: &str) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(path).unwrap();
    let v = npy::read_npy(&bytes).unwrap();
    assert_eq!(v.order(), Order::C);
    let vals = v
        .data()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect();
    (v.shape().to_vec(), vals)
}

/// Python's `range(*slice(start, stop, step).indices(len))`.
fn py_range(start: Option<i64>, stop: Option<i64>, step: i64, len: i64) -> Vec<i64> {
    let clamp = |v: i64, lo: i64, hi: i64| {
        let v = if v < 0 { v + len } else { v };
        v.clamp(lo, hi)
    };
    let (lo, hi) = if step < 0 { (-1, len - 1) } else { (0, len) };
    let s = start.map_or(if step < 0 { hi } else { lo }, |v| clamp(v, lo, hi));
    let e = stop.map_or(if step < 0 { lo } else { hi }, |v| clamp(v, lo, hi));
    let mut out = Vec::new();
    let mut i = s;
    while (step > 0 && i < e) || (step < 0 && i > e) {
        out.push(i);
        i += step;
    }
    out
}

/// A key and, per dimension, `(start, stop, step)` of its slice.
type Key = (&'static str, [(Option<i64>, Option<i64>, i64); 2]);

#[test]
fn pack_info_unpack_round_trip() {
    let d = Dir::new("round");
    for (order, sparse) in [(Order::C, false), (Order::F, true)] {
        let src = d.path("a.npy");
        let values = write_2d(&src, order);
        let dst = d.path(if sparse { "a.b2nd.d" } else { "a.b2nd" });
        let mut args = vec![
            "pack",
            &src,
            &dst,
            "--chunks",
            "10,8",
            "--blocks",
            "4,3",
            "--codec",
            "zlib",
            "--clevel",
            "3",
            "--filters",
            "bitshuffle",
            "--caterva",
        ];
        if sparse {
            args.push("--sparse");
        }
        ok(&args);
        assert_eq!(Path::new(&dst).is_dir(), sparse);
        let info = ok(&["info", &dst]);
        for want in [
            "shape      : (37, 23)",
            "dtype      : <f8",
            "chunks     : (10, 8)",
            "blocks     : (4, 3)",
            "codec      : zlib (clevel 3)",
            "filters    : bitshuffle",
            "nchunks    : 12 (0 special)",
            "caterva (",
            if sparse {
                "sparse directory"
            } else {
                "contiguous frame"
            },
        ] {
            assert!(info.contains(want), "{want:?} not in\n{info}");
        }
        // The whole array.
        let out = d.path("all.npy");
        ok(&["unpack", &dst, &out]);
        assert_eq!(read_f8(&out), (vec![37, 23], values.clone()));
        // Slices with steps (negative too), integers and `...`.
        let keys: [Key; 5] = [
            ("0:10, ::2", [(Some(0), Some(10), 1), (None, None, 2)]),
            ("::-3, 20:2:-4", [(None, None, -3), (Some(20), Some(2), -4)]),
            ("-5:, ...", [(Some(-5), None, 1), (None, None, 1)]),
            (
                "30:100:7, -1:",
                [(Some(30), Some(100), 7), (Some(-1), None, 1)],
            ),
            ("[5:5, :]", [(Some(5), Some(5), 1), (None, None, 1)]),
        ];
        for (key, [(a0, b0, s0), (a1, b1, s1)]) in keys {
            ok(&["unpack", &dst, &out, "--slice", key]);
            let rows = py_range(a0, b0, s0, 37);
            let cols = py_range(a1, b1, s1, 23);
            let want: Vec<f64> = rows
                .iter()
                .flat_map(|&i| cols.iter().map(move |&j| (100 * i + j) as f64))
                .collect();
            assert_eq!(read_f8(&out), (vec![rows.len(), cols.len()], want), "{key}");
        }
        ok(&["unpack", &dst, &out, "--slice", "-2, 5"]);
        assert_eq!(read_f8(&out), (vec![], vec![3505.0]));
        ok(&["unpack", &dst, &out, "--slice", "None, 3, ::-11"]);
        assert_eq!(read_f8(&out), (vec![1, 3], vec![322.0, 311.0, 300.0]));
    }
}

#[test]
fn npy_info_and_defaults() {
    let d = Dir::new("defaults");
    let src = d.path("a.npy");
    write_2d(&src, Order::C);
    let info = ok(&["info", &src]);
    assert!(info.contains("(NPY)") && info.contains("shape      : (37, 23)"));
    let dst = d.path("a.b2nd");
    ok(&["pack", &src, &dst]);
    let info = ok(&["info", &dst]);
    assert!(info.contains("codec      : zstd (clevel 5)"), "{info}");
    assert!(info.contains("filters    : shuffle"), "{info}");
    // Packing again replaces the file.
    ok(&["pack", &src, &dst, "--codec", "blosclz"]);
    assert!(ok(&["info", &dst]).contains("codec      : blosclz"));
}

/// An input above the progress-bar threshold goes through the same path and reads back equal.
#[test]
fn large_input_round_trips() {
    let d = Dir::new("large");
    let n = 3 << 20; // 12 MiB of <u4
    let vals: Vec<u8> = (0..n as u32)
        .flat_map(|v| (v.wrapping_mul(2654435761) >> 7).to_le_bytes())
        .collect();
    let src = d.path("big.npy");
    let descr = Descr::Scalar("<u4".parse().unwrap());
    std::fs::write(
        &src,
        npy::write_npy_to_vec(&descr, &[n / 1024, 1024], Order::C, &vals).unwrap(),
    )
    .unwrap();
    let dst = d.path("big.b2nd");
    ok(&["pack", &src, &dst, "--codec", "lz4"]);
    let out = d.path("back.npy");
    ok(&["unpack", &dst, &out]);
    let back = std::fs::read(&out).unwrap();
    let v = npy::read_npy(&back).unwrap();
    assert_eq!(v.shape(), [n / 1024, 1024]);
    assert_eq!(v.data(), &vals[..]);
}

#[test]
fn bad_input_is_a_clean_error() {
    let d = Dir::new("bad");
    let src = d.path("a.npy");
    write_2d(&src, Order::C);
    let dst = d.path("a.b2nd");
    ok(&["pack", &src, &dst, "--chunks", "10,10", "--blocks", "5,5"]);
    let missing = d.path("missing.npy");
    let out = d.path("o.npy");
    let garbage = d.path("garbage.b2nd");
    std::fs::write(&garbage, b"this is not a frame at all, not even close").unwrap();
    let bytes = std::fs::read(&dst).unwrap();
    let truncated = d.path("truncated.b2nd");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["pack", &missing, &dst], "missing.npy"),
        (vec!["pack", &garbage, &dst], "garbage.b2nd"),
        (vec!["pack", &src, &dst, "--codec", "snappy"], "snappy"),
        (vec!["pack", &src, &dst, "--clevel", "12"], "clevel"),
        (vec!["pack", &src, &dst, "--filters", "nope"], "nope"),
        (vec!["pack", &src, &dst, "--chunks", "10"], "same length"),
        (vec!["pack", &src, &dst, "--chunks", "10,x"], "--chunks"),
        (vec!["pack", &src, &dst, "--chunks", "10,0"], "chunk"),
        (
            vec!["pack", &src, &dst, "--chunks", "4,4", "--blocks", "8,8"],
            "greater than chunks",
        ),
        (vec!["unpack", &missing, &out], "missing.npy"),
        (vec!["unpack", &garbage, &out], "garbage.b2nd"),
        (vec!["unpack", &truncated, &out], "truncated.b2nd"),
        (vec!["unpack", &dst, &out, "--slice", "37"], "out of bounds"),
        (vec!["unpack", &dst, &out, "--slice", "::0"], "zero"),
        (vec!["unpack", &dst, &out, "--slice", "1,2,3"], "too many"),
        (
            vec!["unpack", &dst, &out, "--slice", "a:b"],
            "not an integer",
        ),
        (vec!["info", &missing], "missing.npy"),
        (vec!["info", &garbage], "garbage.b2nd"),
        (vec!["info", &truncated], "truncated.b2nd"),
    ];
    for (args, needle) in cases {
        let err = fails(&args);
        assert!(
            err.starts_with("ndpack: ") && err.contains(needle),
            "ndpack {args:?}: {err:?} should name {needle:?}"
        );
    }
    // The file that failed to be replaced by a bad pack is still the good one.
    assert!(ok(&["info", &dst]).contains("chunks     : (10, 10)"));
}

#[test]
fn demo_packs_and_checks_the_samples() {
    let d = Dir::new("demo");
    let text = ok(&["demo", "--dir", &d.0.to_string_lossy(), "--sample-mib", "1"]);
    assert!(
        text.contains("reads checked against the original arrays: all equal"),
        "{text}"
    );
    assert!(
        text.contains("special, 91 zeros, 1 repeated value"),
        "{text}"
    );
    assert!(Path::new(&d.path("smooth-f4.b2nd")).is_file());
    assert!(Path::new(&d.path("noisy-f4.b2nd.d")).is_dir());
}
