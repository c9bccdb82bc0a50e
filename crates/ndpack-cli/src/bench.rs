//! `ndpack bench`: every applicable codec on an array, with ratio and encode/decode MB/s.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use ndpack::codec::{get_codec, ArrayMut, ArrayRef, Codec};
use ndpack::{DataType, TypeKind};
use serde_json::{json, Value};

use crate::sample::Sample;

/// One row of the table.
pub struct Row {
    /// Array name.
    pub array: String,
    /// The codec config, as JSON text.
    pub codec: String,
    /// Original size / encoded size.
    pub ratio: f64,
    /// Encoding throughput, MB/s of original data.
    pub encode_mbs: f64,
    /// Decoding throughput, MB/s of original data.
    pub decode_mbs: f64,
}

/// Configs of the codecs worth running on an array of `dtype`: compressors on any data, filters
/// where numcodecs accepts the dtype.
pub fn configs_for(dtype: &DataType) -> Vec<Value> {
    let mut out = vec![
        json!({"id": "zlib", "level": 1}),
        json!({"id": "gzip", "level": 1}),
        json!({"id": "bz2", "level": 1}),
        json!({"id": "lzma", "preset": 1}),
        json!({"id": "zstd", "level": 1}),
        json!({"id": "lz4", "acceleration": 1}),
        json!({"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}),
        json!({"id": "blosc", "cname": "zstd", "clevel": 5, "shuffle": 2}),
        json!({"id": "blosc", "cname": "blosclz", "clevel": 5, "shuffle": 1}),
        json!({"id": "crc32"}),
        json!({"id": "adler32"}),
        json!({"id": "crc32c"}),
        json!({"id": "fletcher32"}),
        json!({"id": "jenkins_lookup3"}),
        json!({"id": "shuffle", "elementsize": dtype.itemsize()}),
    ];
    let dt = dtype.to_string();
    // pco (when built in): native-order integers and floats of 2, 4 or 8 bytes.
    let pco_kind = matches!(
        dtype.kind(),
        TypeKind::Int | TypeKind::UInt | TypeKind::Float
    );
    if pco_kind
        && dtype.itemsize() >= 2
        && !dtype.is_swapped()
        && ndpack::codec::codec_ids().iter().any(|id| id == "pcodec")
    {
        out.push(json!({"id": "pcodec", "level": 8}));
    }
    match dtype.kind() {
        TypeKind::Int | TypeKind::UInt => {
            out.push(json!({"id": "delta", "dtype": dt}));
        }
        TypeKind::Float => {
            out.push(json!({"id": "delta", "dtype": dt}));
            out.push(json!({"id": "quantize", "digits": 3, "dtype": dt}));
            out.push(json!({"id": "bitround", "keepbits": 10}));
            out.push(
                json!({"id": "fixedscaleoffset", "offset": 0, "scale": 100, "dtype": dt, "astype": "<i4"}),
            );
            if dtype.itemsize() >= 4 {
                out.push(json!({"id": "zfpy", "mode": 4, "tolerance": 1e-3}));
                out.push(json!({"id": "zfpy", "mode": 2, "rate": 8}));
            }
        }
        _ => {}
    }
    out
}

fn time_at_least(min: Duration, mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < min || n == 0 {
        f();
        n += 1;
    }
    start.elapsed() / n
}

fn run_one(sample: &Sample, codec: &dyn Codec, min: Duration) -> Result<Row, ndpack::Error> {
    let input = ArrayRef::new(
        &sample.data,
        sample.dtype.clone(),
        sample.shape.clone(),
        ndpack::Order::C,
    )?;
    let encoded = codec.encode(input.clone())?;
    let decoded = codec.decode(encoded.as_array_ref())?;
    if decoded.bytes().len() != sample.data.len() {
        return Err(ndpack::Error::invalid_argument(format!(
            "{} decoded {} bytes, expected {}",
            codec.id(),
            decoded.bytes().len(),
            sample.data.len()
        )));
    }
    let enc_time = time_at_least(min, || {
        let _ = codec.encode(input.clone());
    });
    let dec_time = time_at_least(min, || {
        let _ = codec.decode(encoded.as_array_ref());
    });
    let mut out = vec![0u8; sample.data.len()];
    // decode_into is what array stores use; check it agrees.
    if encoded.dtype().itemsize() == 1
        && codec
            .decode_into(encoded.bytes(), ArrayMut::bytes(&mut out))
            .is_ok()
        && decoded.bytes() != &out[..]
    {
        return Err(ndpack::Error::invalid_argument(format!(
            "{}: decode_into disagrees with decode",
            codec.id()
        )));
    }
    let mb = sample.data.len() as f64 / 1e6;
    Ok(Row {
        array: sample.name.clone(),
        codec: codec.config().to_string(),
        ratio: sample.data.len() as f64 / encoded.bytes().len().max(1) as f64,
        encode_mbs: mb / enc_time.as_secs_f64(),
        decode_mbs: mb / dec_time.as_secs_f64(),
    })
}

/// Runs every applicable codec on every sample; codecs that are unavailable or reject the data
/// are listed in the returned notes instead.
pub fn run(samples: &[Sample], min: Duration) -> (Vec<Row>, Vec<String>) {
    let jobs: Vec<(&Sample, Value)> = samples
        .iter()
        .flat_map(|s| configs_for(&s.dtype).into_iter().map(move |c| (s, c)))
        .collect();
    let bar = ProgressBar::new(jobs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (sample, config) in jobs {
        bar.set_message(format!("{} {}", sample.name, config["id"]));
        match get_codec(&config).and_then(|c| run_one(sample, c.as_ref(), min)) {
            Ok(row) => rows.push(row),
            Err(e) => notes.push(format!("{} {config}: {e}", sample.name)),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    (rows, notes)
}

/// Formats rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| array | codec | ratio | encode MB/s | decode MB/s |\n|---|---|---:|---:|---:|\n",
    );
    for r in rows {
        s.push_str(&format!(
            "| {} | `{}` | {:.2} | {:.0} | {:.0} |\n",
            r.array, r.codec, r.ratio, r.encode_mbs, r.decode_mbs
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_zlib_on_a_small_sample_and_reports_the_rest() {
        let samples = crate::sample::samples(1 << 14);
        let ramp = &samples[2..3];
        let (rows, notes) = run(ramp, Duration::from_millis(1));
        let zlib = rows
            .iter()
            .find(|r| r.codec.contains("zlib"))
            .expect("zlib row");
        assert!(zlib.ratio > 1.0);
        assert!(zlib.encode_mbs > 0.0 && zlib.decode_mbs > 0.0);
        // Every config either ran or is explained.
        assert_eq!(rows.len() + notes.len(), configs_for(&ramp[0].dtype).len());
        assert!(table(&rows).contains("| ramp-i8 |"));
    }
}
