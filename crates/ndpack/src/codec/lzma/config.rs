//! The `lzma` codec's config: Python's `lzma` constants and the parsing of filter specifiers
//! (dicts with an `id` and that filter's options) into a filter chain.

use serde_json::Value;

use crate::backend::lzma::{cfg_err, FilterSpec};
use crate::error::Result;

/// Python's `lzma.FORMAT_AUTO`: decode .xz or .lzma (cannot encode).
pub const FORMAT_AUTO: i64 = 0;
/// Python's `lzma.FORMAT_XZ`.
pub const FORMAT_XZ: i64 = 1;
/// Python's `lzma.FORMAT_ALONE` (the legacy .lzma format).
pub const FORMAT_ALONE: i64 = 2;
/// Python's `lzma.FORMAT_RAW` (no container; `filters` required).
pub const FORMAT_RAW: i64 = 3;
/// Python's `lzma.PRESET_EXTREME` flag.
pub const PRESET_EXTREME: i64 = 0x8000_0000;
/// Python's `lzma.FILTER_LZMA1`.
pub const FILTER_LZMA1: i64 = 0x4000_0000_0000_0001;
/// Python's `lzma.FILTER_LZMA2`.
pub const FILTER_LZMA2: i64 = 0x21;
/// Python's `lzma.FILTER_DELTA`.
pub const FILTER_DELTA: i64 = 3;

const BCJ_FILTERS: [(i64, &str); 6] = [
    (4, "FILTER_X86"),
    (5, "FILTER_POWERPC"),
    (6, "FILTER_IA64"),
    (7, "FILTER_ARM"),
    (8, "FILTER_ARMTHUMB"),
    (9, "FILTER_SPARC"),
];

/// Checks a `preset` (0-9, optionally or-ed with [`PRESET_EXTREME`]); gives it as liblzma takes it.
pub(super) fn check_preset(preset: i64) -> Result<u32> {
    let level = preset & !PRESET_EXTREME;
    if !(0..=9).contains(&level) || !(0..=(PRESET_EXTREME | 9)).contains(&preset) {
        return Err(cfg_err(format!(
            "key \"preset\" must be 0-9, optionally with PRESET_EXTREME, got {preset}"
        )));
    }
    Ok(preset as u32)
}

/// Parses filter specifier `i` of a `filters` list.
pub(super) fn parse_filter(i: usize, v: &Value) -> Result<FilterSpec> {
    let m = v
        .as_object()
        .ok_or_else(|| cfg_err(format!("key \"filters\": item {i} must be a dict, got {v}")))?;
    let int = |key: &str| -> Result<Option<i64>> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                cfg_err(format!(
                    "key \"filters\": item {i}: {key:?} must be an integer, got {v}"
                ))
            }),
        }
    };
    let u32_of = |key: &str| -> Result<Option<u32>> {
        int(key)?
            .map(|x| {
                u32::try_from(x).map_err(|_| {
                    cfg_err(format!(
                        "key \"filters\": item {i}: {key:?} is out of range: {x}"
                    ))
                })
            })
            .transpose()
    };
    let id =
        int("id")?.ok_or_else(|| cfg_err(format!("key \"filters\": item {i} has no \"id\"")))?;
    let allowed: &[&str] = match id {
        FILTER_LZMA1 | FILTER_LZMA2 => &[
            "id",
            "preset",
            "dict_size",
            "lc",
            "lp",
            "pb",
            "mode",
            "nice_len",
            "mf",
            "depth",
        ],
        FILTER_DELTA => &["id", "dist"],
        _ if BCJ_FILTERS.iter().any(|(f, _)| *f == id) => &["id", "start_offset"],
        _ => {
            return Err(cfg_err(format!(
                "key \"filters\": item {i}: unknown filter id {id}"
            )))
        }
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(cfg_err(format!(
            "key \"filters\": item {i}: invalid filter option {k:?} for filter {id}"
        )));
    }
    Ok(match id {
        FILTER_LZMA1 | FILTER_LZMA2 => {
            let preset = match int("preset")? {
                None => 6,
                Some(p) => check_preset(p)?,
            };
            let spec = FilterSpec::Lzma {
                lzma1: id == FILTER_LZMA1,
                preset,
                dict_size: u32_of("dict_size")?,
                lc: u32_of("lc")?,
                lp: u32_of("lp")?,
                pb: u32_of("pb")?,
                mode: u32_of("mode")?,
                nice_len: u32_of("nice_len")?,
                mf: u32_of("mf")?,
                depth: u32_of("depth")?,
            };
            if let FilterSpec::Lzma { mode: Some(md), .. } = spec {
                if md != 1 && md != 2 {
                    return Err(cfg_err(format!("key \"filters\": item {i}: bad mode {md}")));
                }
            }
            if let FilterSpec::Lzma { mf: Some(mf), .. } = spec {
                if ![3, 4, 18, 19, 20].contains(&mf) {
                    return Err(cfg_err(format!("key \"filters\": item {i}: bad mf {mf}")));
                }
            }
            spec
        }
        FILTER_DELTA => {
            let dist = u32_of("dist")?.unwrap_or(1);
            if !(1..=256).contains(&dist) {
                return Err(cfg_err(format!(
                    "key \"filters\": item {i}: \"dist\" must be 1-256, got {dist}"
                )));
            }
            FilterSpec::Delta { dist }
        }
        _ => FilterSpec::Bcj {
            id,
            start_offset: u32_of("start_offset")?.unwrap_or(0),
        },
    })
}
