//! `ndpack pack`, `unpack` and `info`: .npy files to and from b2nd arrays (python-blosc2's
//! `.b2nd`, python-caterva's frames), and a summary of what a frame holds. Inputs and outputs
//! above a few MB show a progress bar (packing counts compressed chunks; unpacking reads in
//! slabs along the first dimension).

use std::fmt::Write as _;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use ndpack::array::b2nd::{ArrayOptions, Dtype, NDArray, B2ND_META, CATERVA_META};
use ndpack::blosc::frame::{Mode, SChunk, Special, Storage};
use ndpack::blosc::v2::{CParams, Filter};
use ndpack::buffer::{ArrayMut, ArrayRef};
use ndpack::codec::msgpack2::MsgPack2;
use ndpack::codec::object::ObjectValue;
use ndpack::region::{Layout, Order, Region, Selection};
use ndpack::{Error, Result};

use crate::key::parse_key;

/// Inputs and outputs above this many bytes show a progress bar.
pub const PROGRESS_MIN_BYTES: usize = 4 << 20;
/// About how many uncompressed bytes one slab of an unpacked region holds.
const SLAB_BYTES: usize = 32 << 20;

/// How `ndpack pack` stores the array (python-blosc2's keywords).
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    /// Chunk shape, e.g. "100,100"; python-blosc2's default when `None`.
    pub chunks: Option<String>,
    /// Block shape; python-blosc2's default when `None`.
    pub blocks: Option<String>,
    /// Compressor name (blosclz, lz4, lz4hc, zlib, zstd); zstd when `None`.
    pub codec: Option<String>,
    /// Compression level 0-9; 5 when `None`.
    pub clevel: Option<u8>,
    /// Filters in pipeline order, e.g. "bitshuffle" or "delta,shuffle" or "trunc_prec:10"
    /// (`name:meta`); "shuffle" when `None`, "nofilter" for none.
    pub filters: Option<String>,
    /// A sparse directory instead of one frame file.
    pub sparse: bool,
    /// Also write the `caterva` metalayer (python-caterva 0.7.3 opens the file).
    pub caterva: bool,
}

/// Reads `text` as a shape, e.g. "100,100" or "(100, 100)".
pub fn parse_dims(text: &str, what: &str) -> Result<Vec<usize>> {
    let t = text.trim().trim_start_matches('(').trim_end_matches(')');
    t.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| {
                Error::invalid_argument(format!(
                    "{what} {text:?} is not a list of non-negative integers such as 100,100"
                ))
            })
        })
        .collect()
}

/// The compression parameters `opts` ask for (python-blosc2's defaults otherwise).
pub fn cparams(opts: &PackOptions) -> Result<CParams> {
    let mut c = CParams::default();
    if let Some(name) = &opts.codec {
        c.codec = name.parse()?;
        if !c.codec.can_encode() || !c.codec.is_available() {
            return Err(Error::invalid_argument(format!(
                "this ndpack cannot write Blosc2 chunks with {name:?}; it writes {}",
                ndpack::blosc::list_compressors().join(", ")
            )));
        }
    }
    if let Some(level) = opts.clevel {
        if level > 9 {
            return Err(Error::invalid_argument(format!(
                "--clevel {level}: the compression level is 0 to 9"
            )));
        }
        c.clevel = level;
    }
    if let Some(text) = &opts.filters {
        let mut list = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, meta) = match item.split_once(':') {
                Some((n, m)) => {
                    let m = m.trim().parse::<u8>().map_err(|_| {
                        Error::invalid_argument(format!(
                            "filter meta in {item:?} is not a number from 0 to 255"
                        ))
                    })?;
                    (n.trim(), m)
                }
                None => (item, 0),
            };
            let f = Filter::from_name(name)?;
            if f != Filter::NoFilter {
                list.push((f, meta));
            }
        }
        if list.len() > 6 {
            return Err(Error::invalid_argument(format!(
                "--filters {text:?}: a Blosc2 pipeline holds at most 6 filters"
            )));
        }
        // The filters fill the last slots, as python-blosc2's default pipeline does.
        c.filters = [Filter::NoFilter; 6];
        c.filters_meta = [0; 6];
        let first = 6 - list.len();
        for (k, (f, m)) in list.into_iter().enumerate() {
            c.filters[first + k] = f;
            c.filters_meta[first + k] = m;
        }
    }
    Ok(c)
}

/// The [`ArrayOptions`] of `opts` for an array stored at `output` (replacing what is there).
pub fn array_options(opts: &PackOptions, output: Option<&Path>) -> Result<ArrayOptions> {
    Ok(ArrayOptions {
        chunks: opts
            .chunks
            .as_deref()
            .map(|t| parse_dims(t, "--chunks"))
            .transpose()?,
        blocks: opts
            .blocks
            .as_deref()
            .map(|t| parse_dims(t, "--blocks"))
            .transpose()?,
        cparams: Some(cparams(opts)?),
        storage: Storage {
            urlpath: output.map(Path::to_path_buf),
            contiguous: !opts.sparse,
            mode: Mode::Write,
            ..Default::default()
        },
        caterva: opts.caterva,
        ..Default::default()
    })
}

/// A progress bar over `total` bytes, hidden when `total` is small (or stderr is no terminal).
fn progress(total: usize, verb: &str) -> ProgressBar {
    if total < PROGRESS_MIN_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(verb.to_string());
    bar
}

/// Cuts `region` along its first dimension into slabs of about [`SLAB_BYTES`], each a whole
/// number of `step` positions: `(positions, sub-region)` pairs.
fn slabs(region: &Region, itemsize: usize, step: usize) -> Result<Vec<(Region, Region)>> {
    let shape = region.shape();
    if shape.is_empty() || shape.contains(&0) {
        return Ok(vec![(Region::full(&shape)?, region.clone())]);
    }
    let row: usize = shape[1..].iter().product::<usize>() * itemsize;
    let per = (SLAB_BYTES / row.max(1) / step.max(1)).max(1) * step.max(1);
    let mut out = Vec::new();
    let mut at = 0;
    while at < shape[0] {
        let end = (at + per).min(shape[0]);
        let mut pos = Region::full(&shape)?.slices().to_vec();
        pos[0] = ndpack::region::Slice::range(at, end)?;
        let pos = Region::new(pos);
        let sub = region.select(&pos)?;
        out.push((pos, sub));
        at = end;
    }
    Ok(out)
}

/// Builds an array from `data` (items of `shape` in `order`), behind a progress bar when it
/// is large.
pub fn pack_data(
    data: &[u8],
    shape: &[usize],
    order: Order,
    dtype: Dtype,
    opts: &ArrayOptions,
) -> Result<NDArray> {
    let bar = progress(data.len(), "packing");
    let src = ArrayRef::new(data, dtype.data_type(), shape.to_vec(), order)?;
    let a = NDArray::from_array(&src, dtype, opts, |n| bar.inc(n as u64))?;
    bar.finish_and_clear();
    Ok(a)
}

/// `ndpack pack`: the array of the .npy file `input` stored at `output`.
pub fn pack(input: &Path, output: &Path, opts: &PackOptions) -> Result<NDArray> {
    let aopts = array_options(opts, Some(output))?;
    let bytes = read_file(input)?;
    let npy = ndpack::npy::read_npy(&bytes).map_err(|e| in_file(e, input))?;
    let dtype = Dtype::new(npy.descr().clone());
    pack_data(npy.data(), npy.shape(), npy.order(), dtype, &aopts).map_err(|e| in_file(e, output))
}

/// The region of `a` that the NumPy key `key` selects and the shape of the result.
pub fn select(a: &NDArray, key: Option<&str>) -> Result<Selection> {
    let key = match key {
        Some(k) => parse_key(k)?,
        None => Vec::new(),
    };
    Selection::new(&key, a.shape())
}

/// Reads `region` of `a` into a new C-order buffer, in slabs behind a progress bar when large.
pub fn read_selection(a: &NDArray, region: &Region) -> Result<Vec<u8>> {
    let its = a.itemsize();
    let shape = region.shape();
    let n = Layout::c(&shape, its).num_bytes()?;
    let mut out = Vec::new();
    out.try_reserve_exact(n)
        .map_err(|_| Error::alloc_failed("the selected items", n))?;
    out.resize(n, 0);
    let bar = progress(n, "unpacking");
    let step = a.chunks().first().copied().unwrap_or(1);
    let dt = a.dtype().data_type();
    for (pos, sub) in slabs(region, its, step)? {
        let mut dst = ArrayMut {
            data: &mut out,
            dtype: dt.clone(),
            shape: shape.clone(),
            order: Order::C,
        };
        a.get_region_into(&sub, &mut dst, &pos)?;
        bar.inc(Layout::c(&pos.shape(), its).num_bytes()? as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// `ndpack unpack`: the items `key` selects (all when `None`) of the array at `input`, written
/// to the .npy file `output`. Returns the shape written.
pub fn unpack(input: &Path, output: &Path, key: Option<&str>) -> Result<Vec<usize>> {
    let a = open(input)?;
    let sel = select(&a, key)?;
    let data = read_selection(&a, sel.region()).map_err(|e| in_file(e, input))?;
    let file = std::fs::File::create(output).map_err(|e| in_file(e.into(), output))?;
    let mut w = std::io::BufWriter::new(file);
    ndpack::npy::write_npy(&mut w, a.dtype().descr(), sel.shape(), Order::C, &data)?;
    std::io::Write::flush(&mut w).map_err(|e| in_file(e.into(), output))?;
    Ok(sel.shape().to_vec())
}

/// Opens the array in the frame file or sparse directory `path` for reading.
pub fn open(path: &Path) -> Result<NDArray> {
    NDArray::open(path, Mode::Read).map_err(|e| in_file(e, path))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| in_file(e.into(), path))
}

/// `e` with the file it is about named.
fn in_file(e: Error, path: &Path) -> Error {
    let prefix = format!("{}: ", path.display());
    if e.message().starts_with(&prefix) {
        return e;
    }
    Error::new(e.kind(), format!("{prefix}{}", e.message()))
}

/// A shape as Python prints a tuple: `()`, `(5,)`, `(2, 3)`.
pub fn tuple(dims: &[usize]) -> String {
    match dims {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn filter_name(f: Filter) -> &'static str {
    match f {
        Filter::NoFilter => "nofilter",
        Filter::Shuffle => "shuffle",
        Filter::BitShuffle => "bitshuffle",
        Filter::Delta => "delta",
        Filter::TruncPrec => "trunc_prec",
        Filter::ByteDelta => "bytedelta",
    }
}

/// The filters of `c` in pipeline order, with their meta where it is set.
pub fn filters_text(c: &CParams) -> String {
    let list: Vec<String> = c
        .filters
        .iter()
        .zip(c.filters_meta)
        .filter(|(f, _)| **f != Filter::NoFilter)
        .map(|(f, m)| {
            if m == 0 {
                filter_name(*f).to_string()
            } else {
                format!("{}:{m}", filter_name(*f))
            }
        })
        .collect();
    if list.is_empty() {
        "nofilter".into()
    } else {
        list.join(", ")
    }
}

/// A msgpack value as Python's `repr` shows it.
fn py_repr(v: &ObjectValue, out: &mut String) {
    let list = |items: &[ObjectValue], out: &mut String| {
        for (k, x) in items.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            py_repr(x, out);
        }
    };
    match v {
        ObjectValue::Null => out.push_str("None"),
        ObjectValue::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
        ObjectValue::Int(i) => out.push_str(&i.to_string()),
        ObjectValue::UInt(u) => out.push_str(&u.to_string()),
        ObjectValue::Float(f) => out.push_str(&format!("{f:?}")),
        ObjectValue::Str(s) => out.push_str(&format!("{s:?}")),
        ObjectValue::Bytes(b) => out.push_str(&format!("<{} bytes>", b.len())),
        ObjectValue::List(items) => {
            out.push('[');
            list(items, out);
            out.push(']');
        }
        ObjectValue::Map(pairs) => {
            out.push('{');
            for (k, (key, val)) in pairs.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                py_repr(key, out);
                out.push_str(": ");
                py_repr(val, out);
            }
            out.push('}');
        }
    }
}

/// A vlmeta value (msgpack, as python-blosc2 stores them) as text, cut to `max` characters.
fn vlmeta_text(bytes: &[u8], max: usize) -> String {
    let mut s = String::new();
    match MsgPack2::new(false, true, false).unpack_value(bytes) {
        Ok(v) => py_repr(&v, &mut s),
        Err(_) => s = format!("<{} bytes, not msgpack>", bytes.len()),
    }
    if s.chars().count() > max {
        s = s.chars().take(max).collect::<String>() + "...";
    }
    s
}

/// Counts of each kind of special chunk of `s` (zeros, NaN, uninit, value).
fn special_counts(s: &SChunk) -> Result<[usize; 4]> {
    let mut n = [0; 4];
    for k in 0..s.nchunks() {
        match s.chunk_special(k)? {
            Some(Special::Zeros) => n[0] += 1,
            Some(Special::Nan) => n[1] += 1,
            Some(Special::Uninit) => n[2] += 1,
            Some(Special::Value(_)) => n[3] += 1,
            None => {}
        }
    }
    Ok(n)
}

fn size_text(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.2} {} ({n})", UNITS[u])
    }
}

/// `ndpack info`: what the frame file or sparse directory `path` holds (an array's shapes,
/// dtype, compression, metalayers, vlmeta and special chunks), or a .npy file's header.
pub fn info(path: &Path) -> Result<String> {
    let mut o = String::new();
    if path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        let bytes = read_file(path)?;
        let npy = ndpack::npy::read_npy(&bytes).map_err(|e| in_file(e, path))?;
        let _ = writeln!(o, "file       : {} (NPY)", path.display());
        let _ = writeln!(o, "shape      : {}", tuple(npy.shape()));
        let _ = writeln!(o, "dtype      : {}", npy.descr().to_literal());
        let _ = writeln!(o, "order      : {:?}", npy.order());
        let _ = writeln!(o, "nbytes     : {}", size_text(npy.data().len() as u64));
        return Ok(o);
    }
    let s = SChunk::open(path, Mode::Read).map_err(|e| in_file(e, path))?;
    let storage = if s.contiguous() {
        "contiguous frame"
    } else {
        "sparse directory"
    };
    let _ = writeln!(o, "file       : {} ({storage})", path.display());
    let opened = if s.meta_get(B2ND_META).is_some() || s.meta_get(CATERVA_META).is_some() {
        let a = NDArray::from_schunk(s).map_err(|e| in_file(e, path))?;
        let kind = if a.schunk().meta_get(B2ND_META).is_some() {
            "b2nd"
        } else {
            "caterva"
        };
        let _ = writeln!(o, "type       : NDArray ({kind} metalayer)");
        let _ = writeln!(o, "shape      : {}", tuple(a.shape()));
        let _ = writeln!(o, "dtype      : {}", a.dtype());
        let _ = writeln!(o, "chunks     : {}", tuple(a.chunks()));
        let _ = writeln!(o, "blocks     : {}", tuple(a.blocks()));
        Opened::Array(Box::new(a))
    } else {
        let _ = writeln!(o, "type       : SChunk (no b2nd or caterva metalayer)");
        Opened::Chunks(Box::new(s))
    };
    let (sc, array) = match &opened {
        Opened::Array(a) => (a.schunk(), Some(&**a)),
        Opened::Chunks(s) => (&**s, None),
    };
    let nbytes = array.map_or(sc.nbytes(), |a| a.nbytes() as u64);
    let c = sc.cparams();
    let _ = writeln!(o, "nbytes     : {}", size_text(nbytes));
    let _ = writeln!(o, "cbytes     : {}", size_text(sc.cbytes()));
    let ratio = if sc.cbytes() == 0 {
        "inf".to_string()
    } else {
        format!("{:.2}", nbytes as f64 / sc.cbytes() as f64)
    };
    let _ = writeln!(o, "cratio     : {ratio}");
    let _ = writeln!(o, "codec      : {} (clevel {})", c.codec, c.clevel);
    let _ = writeln!(o, "filters    : {}", filters_text(c));
    let _ = writeln!(
        o,
        "typesize   : {}, chunksize {}, blocksize {}",
        sc.typesize(),
        sc.chunksize(),
        sc.blocksize()
    );
    let [zeros, nans, uninit, value] = special_counts(sc)?;
    let special = zeros + nans + uninit + value;
    let _ = write!(o, "nchunks    : {} ({special} special", sc.nchunks());
    for (n, what) in [
        (zeros, "zeros"),
        (nans, "NaN"),
        (uninit, "uninit"),
        (value, "repeated value"),
    ] {
        if n > 0 {
            let _ = write!(o, ", {n} {what}");
        }
    }
    let _ = writeln!(o, ")");
    let metas: Vec<String> = sc
        .meta_names()
        .into_iter()
        .map(|n| {
            let len = sc.meta_get(&n).map_or(0, <[u8]>::len);
            format!("{n} ({len} bytes)")
        })
        .collect();
    let _ = writeln!(
        o,
        "metalayers : {}",
        if metas.is_empty() {
            "none".to_string()
        } else {
            metas.join(", ")
        }
    );
    let names = sc.vlmeta_names();
    if names.is_empty() {
        let _ = writeln!(o, "vlmeta     : none");
    } else {
        let _ = writeln!(o, "vlmeta     : {} entries", names.len());
        for n in names {
            let text = match sc.vlmeta_get(&n) {
                Ok(Some(v)) => vlmeta_text(&v, 200),
                Ok(None) => "<missing>".into(),
                Err(e) => format!("<unreadable: {e}>"),
            };
            let _ = writeln!(o, "  {n:?}: {text}");
        }
    }
    Ok(o)
}

/// What `ndpack info` opened.
enum Opened {
    Array(Box<NDArray>),
    Chunks(Box<SChunk>),
}

#[cfg(test)]
mod tests;
