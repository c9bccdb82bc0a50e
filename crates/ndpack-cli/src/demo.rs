//! The array part of `ndpack demo`: the built-in sample arrays saved as .npy files, packed into
//! .b2nd files (contiguous, sparse, with the caterva metalayer, with special chunks), described
//! as `ndpack info` does, then read back by NumPy slices (steps, negative steps, integers) and
//! through `unpack`, every result checked against the original items.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndpack::array::b2nd::{ArrayOptions, Dtype, NDArray};
use ndpack::blosc::frame::{Mode, Storage};
use ndpack::npy::Descr;
use ndpack::region::{read_region, Layout, Order};
use ndpack::{Error, Result};

use crate::array::{self, PackOptions};
use crate::sample::{samples, Sample};

/// How one sample is stored, and the keys read back from it.
struct Plan {
    opts: PackOptions,
    keys: &'static [&'static str],
}

fn pack_opts(
    chunks: &str,
    blocks: &str,
    codec: &str,
    filters: &str,
    sparse: bool,
    caterva: bool,
) -> PackOptions {
    PackOptions {
        chunks: Some(chunks.into()),
        blocks: Some(blocks.into()),
        codec: Some(codec.into()),
        clevel: Some(5),
        filters: Some(filters.into()),
        sparse,
        caterva,
    }
}

fn plan_for(s: &Sample) -> Plan {
    const KEYS_2D: &[&str] = &[
        "0:100, ::2",
        "-1",
        "::-7, 5:-5:3",
        "..., 17",
        "300:0:-1, ::-1",
        "...",
    ];
    const KEYS_1D: &[&str] = &["::1000", "-5:", "100000:0:-37", "12345", "..."];
    match s.shape.len() {
        2 => Plan {
            opts: pack_opts("256,256", "64,64", "lz4", "shuffle", false, true),
            keys: KEYS_2D,
        },
        _ if s.dtype.itemsize() == 8 => Plan {
            opts: pack_opts("131072", "16384", "blosclz", "delta,shuffle", false, false),
            keys: KEYS_1D,
        },
        _ => Plan {
            opts: pack_opts("262144", "32768", "zstd", "bitshuffle", true, false),
            keys: KEYS_1D,
        },
    }
}

/// The items `key` selects from `s`, read by a plain strided copy of the original.
fn expected(s: &Sample, a: &NDArray, key: &str) -> Result<Vec<u8>> {
    let sel = array::select(a, Some(key))?;
    let its = s.dtype.itemsize();
    let n = Layout::c(&sel.region().shape(), its).num_bytes()?;
    let mut out = vec![0u8; n];
    read_region(&s.data, Layout::c(&s.shape, its), sel.region(), &mut out)?;
    Ok(out)
}

fn check(what: &str, got: &[u8], want: &[u8]) -> Result<()> {
    if got != want {
        return Err(Error::corrupt(format!(
            "{what}: the items read back differ from the original"
        )));
    }
    Ok(())
}

/// Packs, describes and reads back every sample of about `nbytes` in `dir` (a fresh temporary
/// directory when `None`).
pub fn arrays(dir: Option<&Path>, nbytes: usize) -> Result<()> {
    let dir: PathBuf = match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::temp_dir().join(format!("ndpack-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    println!();
    println!("b2nd arrays in {}", dir.display());
    let mut checked = 0;
    for s in samples(nbytes) {
        let plan = plan_for(&s);
        let npy_path = dir.join(format!("{}.npy", s.name));
        let descr = Descr::Scalar(s.dtype.clone());
        let npy = ndpack::npy::write_npy_to_vec(&descr, &s.shape, Order::C, &s.data)?;
        std::fs::write(&npy_path, npy)?;
        let out = dir.join(format!(
            "{}.b2nd{}",
            s.name,
            if plan.opts.sparse { ".d" } else { "" }
        ));
        let t = Instant::now();
        let a = array::pack(&npy_path, &out, &plan.opts)?;
        let secs = t.elapsed().as_secs_f64();
        println!();
        println!(
            "$ ndpack pack {} {} --chunks {} --blocks {} --codec {} --filters {}{}{}",
            npy_path.display(),
            out.display(),
            plan.opts.chunks.as_deref().unwrap_or(""),
            plan.opts.blocks.as_deref().unwrap_or(""),
            plan.opts.codec.as_deref().unwrap_or(""),
            plan.opts.filters.as_deref().unwrap_or(""),
            if plan.opts.sparse { " --sparse" } else { "" },
            if plan.opts.caterva { " --caterva" } else { "" },
        );
        println!(
            "  {} bytes -> {} bytes (ratio {:.2}) in {:.3} s ({:.0} MB/s)",
            a.nbytes(),
            a.cbytes(),
            a.cratio(),
            secs,
            a.nbytes() as f64 / secs.max(1e-9) / 1e6
        );
        drop(a);
        println!("$ ndpack info {}", out.display());
        print!("{}", array::info(&out)?);
        let a = array::open(&out)?;
        for key in plan.keys {
            let sel = array::select(&a, Some(key))?;
            let t = Instant::now();
            let got = array::read_selection(&a, sel.region())?;
            let secs = t.elapsed().as_secs_f64();
            check(&format!("{}[{key}]", s.name), &got, &expected(&s, &a, key)?)?;
            checked += 1;
            println!(
                "  a[{key}] -> shape {} in {:.2} ms, equal to the original",
                array::tuple(sel.shape()),
                secs * 1e3
            );
        }
        let key = plan.keys[0];
        let sliced = dir.join(format!("{}-slice.npy", s.name));
        array::unpack(&out, &sliced, Some(key))?;
        let bytes = std::fs::read(&sliced)?;
        let back = ndpack::npy::read_npy(&bytes)?;
        check(
            &format!("unpack --slice {key:?}"),
            back.data(),
            &expected(&s, &a, key)?,
        )?;
        checked += 1;
        println!(
            "$ ndpack unpack {} {} --slice {key:?}: shape {}, equal to the original",
            out.display(),
            sliced.display(),
            array::tuple(back.shape())
        );
    }
    checked += special_chunks(&dir)?;
    println!();
    println!("{checked} reads checked against the original arrays: all equal");
    Ok(())
}

/// A mostly-constant array (python-blosc2's `zeros` then one written region): special chunks
/// without payload, shown by `info`, read back and checked.
fn special_chunks(dir: &Path) -> Result<usize> {
    let out = dir.join("mostly-zeros.b2nd");
    let dtype: Dtype = "<f8".parse()?;
    let opts = ArrayOptions {
        chunks: Some(vec![100, 100]),
        blocks: Some(vec![25, 25]),
        storage: Storage {
            urlpath: Some(out.clone()),
            mode: Mode::Write,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut a = NDArray::zeros(&[1000, 1000], dtype.clone(), &opts)?;
    let key = array::select(&a, Some("250:450, 250:450"))?;
    let pi = std::f64::consts::PI.to_le_bytes();
    a.fill_region(key.region(), &pi)?;
    drop(a);
    println!();
    println!("$ ndpack info {}", out.display());
    print!("{}", array::info(&out)?);
    let a = array::open(&out)?;
    let sel = array::select(&a, Some("240:460:10, 300"))?;
    let got = array::read_selection(&a, sel.region())?;
    let want: Vec<u8> = (0..22)
        .flat_map(|k| {
            let row = 240 + 10 * k;
            if (250..450).contains(&row) {
                pi
            } else {
                [0; 8]
            }
        })
        .collect();
    check("mostly-zeros[240:460:10, 300]", &got, &want)?;
    println!(
        "  a[240:460:10, 300] -> shape {}, equal to the values written",
        array::tuple(sel.shape())
    );
    Ok(1)
}
