//! Decodes numcodecs' backward-compatibility data (`../shared/fixtures/numcodecs/<id>/`) with the
//! codec of every id in ndpack's registry: builds the codec from `config.json`, decodes each
//! `encoded.NN.dat` (through `decode` and `decode_into`) and compares with `array.NN.npy`.
//!
//! Grows by itself as codecs are registered. Object-dtype arrays belong to the Python suite and
//! are skipped with a printed reason; a registered id without a fixture folder fails unless it
//! is listed in [`NO_FIXTURES`].

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ndpack::codec::{codec_ids, get_codec, ArrayMut, ArrayRef, Codec};
use ndpack::DataType;
use serde_json::Value;

/// Registered ids that numcodecs' fixture data does not cover, with the reason.
const NO_FIXTURES: &[(&str, &str)] = &[
    (
        "fletcher32",
        "numcodecs ships no fletcher32 fixtures; covered by golden vectors in codec::fletcher32",
    ),
    (
        "bitround",
        "numcodecs ships no bitround fixtures; covered by golden vectors in codec::bitround",
    ),
    (
        "jenkins_lookup3",
        "numcodecs ships no jenkins_lookup3 fixtures; covered by golden vectors in \
         codec::jenkins_lookup3",
    ),
];

/// Object codecs: their fixtures hold Python object arrays, decoded against the stored arrays by
/// `python/tests/test_object_codecs.py` (the Rust side has typed entry points, not object arrays).
const PYTHON_SUITE: &[&str] = &["vlen-utf8", "vlen-bytes", "vlen-array", "json2", "msgpack2"];

/// Lossy codecs, compared within a tolerance derived from their config.
const LOSSY: &[&str] = &["quantize", "fixedscaleoffset", "bitround", "zfpy", "astype"];

/// The parts of an NPY file this test needs.
struct Npy {
    descr: String,
    fortran: bool,
    shape: Vec<usize>,
    data: Vec<u8>,
}

/// A tiny NPY reader: versions 1-3, header dict with `descr`, `fortran_order`, `shape`.
fn read_npy(path: &Path) -> Npy {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &bytes[..6],
        b"\x93NUMPY",
        "{}: not an NPY file",
        path.display()
    );
    let (hlen, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => (
            u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
            12,
        ),
        v => panic!("{}: NPY version {v}", path.display()),
    };
    let header = std::str::from_utf8(&bytes[start..start + hlen]).unwrap();
    let field = |key: &str| -> &str {
        let at = header
            .find(&format!("'{key}':"))
            .unwrap_or_else(|| panic!("{}: no {key} in {header}", path.display()));
        header[at + key.len() + 3..].trim_start()
    };
    let descr = field("descr");
    let descr = if let Some(rest) = descr.strip_prefix('\'') {
        rest[..rest.find('\'').unwrap()].to_string()
    } else {
        // A structured dtype (a list); kept verbatim so the caller can skip it.
        descr[..descr.find("]").map_or(descr.len(), |i| i + 1)].to_string()
    };
    let fortran = field("fortran_order").starts_with("True");
    let shape_src = field("shape");
    let shape_src = &shape_src[1..shape_src.find(')').unwrap()];
    let shape = shape_src
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    Npy {
        descr,
        fortran,
        shape,
        data: bytes[start + hlen..].to_vec(),
    }
}

/// Folders holding `array.NN.npy` and `codec.MM/` (an id's folder or its variant folders).
fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut has_codec = false;
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in &entries {
        let name = p.file_name().unwrap().to_string_lossy();
        if p.is_dir() && name.starts_with("codec.") {
            has_codec = true;
        } else if p.is_dir() {
            out.extend(case_dirs(p));
        }
    }
    if has_codec {
        out.insert(0, dir.to_path_buf());
    }
    out
}

fn floats(descr: &str, data: &[u8]) -> Option<Vec<f64>> {
    let little = !descr.starts_with('>');
    match &descr[1..] {
        "f4" => Some(
            data.chunks_exact(4)
                .map(|c| {
                    let b = c.try_into().unwrap();
                    f64::from(if little {
                        f32::from_le_bytes(b)
                    } else {
                        f32::from_be_bytes(b)
                    })
                })
                .collect(),
        ),
        "i4" => Some(
            data.chunks_exact(4)
                .map(|c| {
                    let b = c.try_into().unwrap();
                    f64::from(if little {
                        i32::from_le_bytes(b)
                    } else {
                        i32::from_be_bytes(b)
                    })
                })
                .collect(),
        ),
        "i8" => Some(
            data.chunks_exact(8)
                .map(|c| {
                    let b = c.try_into().unwrap();
                    (if little {
                        i64::from_le_bytes(b)
                    } else {
                        i64::from_be_bytes(b)
                    }) as f64
                })
                .collect(),
        ),
        "f8" => Some(
            data.chunks_exact(8)
                .map(|c| {
                    let b = c.try_into().unwrap();
                    if little {
                        f64::from_le_bytes(b)
                    } else {
                        f64::from_be_bytes(b)
                    }
                })
                .collect(),
        ),
        _ => None,
    }
}

/// The error a lossy codec may make on values of magnitude up to `max`, from its config.
fn tolerance(id: &str, config: &Value, max: f64) -> f64 {
    let num = |k: &str| config.get(k).and_then(Value::as_f64);
    match id {
        // The quantization step, plus float32 rounding when the result is stored as float32.
        "quantize" => 10f64.powf(-num("digits").unwrap_or(0.0)) + max * 2f64.powi(-23),
        // A float64 -> float32 -> float64 round trip rounds to float32's precision.
        "astype" => max * 2f64.powi(-23),
        "fixedscaleoffset" => 1.0 / num("scale").unwrap_or(1.0),
        "bitround" => max * 2f64.powf(-num("keepbits").unwrap_or(0.0)),
        _ => match num("tolerance") {
            Some(t) if t > 0.0 => t,
            _ => max * 1e-2,
        },
    }
}

fn compare(id: &str, config: &Value, npy: &Npy, decoded: &[u8], what: &str) -> Result<(), String> {
    if !LOSSY.contains(&id) {
        if decoded != &npy.data[..] {
            let first = decoded.iter().zip(&npy.data).position(|(a, b)| a != b);
            return Err(format!(
                "{what}: decoded {} bytes differ from the array's {} (first difference at {first:?})",
                decoded.len(),
                npy.data.len()
            ));
        }
        return Ok(());
    }
    let want =
        floats(&npy.descr, &npy.data).ok_or_else(|| format!("{what}: dtype {}", npy.descr))?;
    let got = floats(&npy.descr, decoded)
        .filter(|g| g.len() == want.len())
        .ok_or_else(|| format!("{what}: decoded {} bytes", decoded.len()))?;
    let max = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    let tol = tolerance(id, config, max);
    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
        if !((a - b).abs() <= tol || (a.is_nan() && b.is_nan())) {
            return Err(format!("{what}: item {i}: {a} vs {b}, tolerance {tol}"));
        }
    }
    Ok(())
}

fn check_case(id: &str, dir: &Path, skipped: &mut Vec<String>) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    let mut decoded_files = 0;
    let mut codec_dirs: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("codec.")
        })
        .collect();
    codec_dirs.sort();
    for cdir in codec_dirs {
        let config: Value =
            serde_json::from_slice(&fs::read(cdir.join("config.json")).unwrap()).unwrap();
        let codec: Box<dyn Codec> = match get_codec(&config) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{}: cannot build {config}: {e}", cdir.display()));
                continue;
            }
        };
        let mut files: Vec<_> = fs::read_dir(&cdir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .collect();
        files.sort();
        for file in files {
            let nn = file
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .replace("encoded.", "");
            let what = format!(
                "{}",
                file.strip_prefix(common::fixtures("numcodecs"))
                    .unwrap_or(&file)
                    .display()
            );
            let npy = read_npy(&dir.join(format!("array.{nn}.npy")));
            if npy.descr.trim_start_matches(['<', '>', '|', '=']) == "O"
                || npy.descr.starts_with('[')
            {
                skipped.push(format!(
                    "{what}: dtype {} (object arrays: Python suite)",
                    npy.descr
                ));
                continue;
            }
            let encoded = fs::read(&file).unwrap();
            match codec.decode(ArrayRef::bytes(&encoded)) {
                Ok(a) => {
                    if let Err(e) = compare(id, &config, &npy, a.bytes(), &what) {
                        failures.push(e);
                        continue;
                    }
                }
                Err(e) => {
                    failures.push(format!("{what}: decode: {e}"));
                    continue;
                }
            }
            // decode_into the array's own memory: dtype, shape and order from the NPY header.
            let mut out = vec![0u8; npy.data.len()];
            let dtype: DataType = npy.descr.parse().unwrap_or_else(|_| DataType::u8());
            let shape = if dtype.itemsize() > 0 && npy.data.len().is_multiple_of(dtype.itemsize()) {
                npy.shape.clone()
            } else {
                vec![npy.data.len()]
            };
            let order = if npy.fortran {
                ndpack::Order::F
            } else {
                ndpack::Order::C
            };
            let target = ArrayMut {
                data: &mut out,
                dtype,
                shape,
                order,
            };
            match codec.decode_into(&encoded, target) {
                Ok(()) => {
                    match compare(id, &config, &npy, &out, &format!("{what} (decode_into)")) {
                        Ok(()) => decoded_files += 1,
                        Err(e) => failures.push(e),
                    }
                }
                Err(e) => failures.push(format!("{what}: decode_into: {e}")),
            }
        }
    }
    (decoded_files, failures)
}

#[test]
fn every_registered_codec_decodes_numcodecs_fixtures() {
    let root = common::fixtures("numcodecs");
    assert!(root.is_dir(), "fixtures not found at {}", root.display());
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut decoded: BTreeMap<String, usize> = BTreeMap::new();
    let registered = codec_ids();
    for id in &registered {
        let dir = root.join(id);
        if PYTHON_SUITE.contains(&id.as_str()) {
            skipped.push(format!(
                "{id}: object arrays, checked against these fixtures by the Python suite"
            ));
            continue;
        }
        if !dir.is_dir() {
            match NO_FIXTURES.iter().find(|(i, _)| i == id) {
                Some((_, why)) => skipped.push(format!("{id}: no fixture folder ({why})")),
                None => failures.push(format!(
                    "{id} is registered but has no fixture folder {} and is not in NO_FIXTURES",
                    dir.display()
                )),
            }
            continue;
        }
        for case in case_dirs(&dir) {
            let (n, f) = check_case(id, &case, &mut skipped);
            *decoded.entry(id.clone()).or_default() += n;
            failures.extend(f);
        }
        if decoded.get(id).copied().unwrap_or(0) == 0 {
            failures.push(format!("{id}: no fixture file was decoded"));
        }
    }
    let mut unregistered: Vec<String> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|id| !registered.contains(id))
        .collect();
    unregistered.sort();
    println!("decoded fixture files per id: {decoded:?}");
    println!("fixture ids with no registered codec (not checked): {unregistered:?}");
    for s in &skipped {
        println!("skipped: {s}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
