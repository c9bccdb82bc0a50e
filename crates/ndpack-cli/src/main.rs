//! The `ndpack` command line: encode and decode files with any numcodecs codec, list codecs,
//! benchmark codecs on an array, and a round-trip demo.

mod bench;
mod io;
mod sample;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use ndpack::codec::{default_configs, ArrayRef, Pipeline};
use serde_json::Value;

/// Compress, store and load N-dimensional arrays (numcodecs-compatible codecs, Blosc, ZFP, NPY).
#[derive(Parser)]
#[command(name = "ndpack", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the codec ids with their default configs.
    Codecs,
    /// Encode a file (raw bytes, or an array from a .npy file) with a codec config or pipeline.
    Encode {
        /// Codec config as JSON, e.g. '{"id": "zstd", "level": 3}', or a list of configs
        /// (filters then compressor).
        #[arg(long)]
        codec: String,
        /// Item dtype of a raw input (NumPy string, e.g. "<f4"); .npy inputs carry their own.
        #[arg(long)]
        dtype: Option<String>,
        /// Input file (.npy or raw).
        input: PathBuf,
        /// Output file (encoded bytes).
        output: PathBuf,
    },
    /// Decode a file encoded with a codec config or pipeline.
    Decode {
        /// Codec config as JSON, or a list of configs (filters then compressor).
        #[arg(long)]
        codec: String,
        /// Dtype of the decoded items, needed to write a .npy output (e.g. "<f4").
        #[arg(long)]
        dtype: Option<String>,
        /// Shape of the decoded array for a .npy output, e.g. "100,200" (default: 1-d).
        #[arg(long)]
        shape: Option<String>,
        /// Encoded input file.
        input: PathBuf,
        /// Output file: a .npy file (with --dtype) or raw bytes.
        output: PathBuf,
    },
    /// Compress an array with every applicable codec and print ratio and MB/s.
    Bench {
        /// A .npy file; the built-in samples (16 MB each) when omitted.
        file: Option<PathBuf>,
        /// Minimum measuring time per codec and direction, in milliseconds.
        #[arg(long, default_value_t = 200)]
        min_ms: u64,
        /// Size of each built-in sample in MiB.
        #[arg(long, default_value_t = 16)]
        sample_mib: usize,
    },
    /// Encode and decode the built-in sample through several codecs and check the round trip.
    Demo,
}

fn pipeline(spec: &str) -> ndpack::Result<Pipeline> {
    let v: Value = serde_json::from_str(spec)
        .map_err(|e| ndpack::Error::invalid_config(format!("--codec is not valid JSON: {e}")))?;
    match v {
        Value::Array(mut items) => {
            let compressor = if items.len() > 1 {
                items.pop().unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            Pipeline::from_configs(&Value::Array(items), &compressor)
        }
        other => Pipeline::from_configs(&Value::Null, &other),
    }
}

fn run(cli: Cli) -> ndpack::Result<()> {
    match cli.command {
        Command::Codecs => {
            for (id, config) in default_configs() {
                println!("{id:<18} {config}");
            }
            let with_defaults = default_configs();
            for id in ndpack::codec::codec_ids() {
                if !with_defaults.contains_key(&id) {
                    println!("{id:<18} (needs parameters)");
                }
            }
        }
        Command::Encode {
            codec,
            dtype,
            input,
            output,
        } => {
            let array = io::read_array(&input, dtype.as_deref(), None)?;
            let p = pipeline(&codec)?;
            let input_ref = ArrayRef::new(&array.data, array.dtype, array.shape, array.order)?;
            let encoded = p.encode(input_ref)?;
            std::fs::write(&output, encoded.bytes())?;
            eprintln!(
                "{} -> {}: {} -> {} bytes",
                input.display(),
                output.display(),
                array.data.len(),
                encoded.bytes().len()
            );
        }
        Command::Decode {
            codec,
            dtype,
            shape,
            input,
            output,
        } => {
            let data = std::fs::read(&input)?;
            let decoded = pipeline(&codec)?.decode(&data)?;
            io::write_output(&output, &decoded, dtype.as_deref(), shape.as_deref())?;
            eprintln!(
                "{} -> {}: {} -> {} bytes",
                input.display(),
                output.display(),
                data.len(),
                decoded.bytes().len()
            );
        }
        Command::Bench {
            file,
            min_ms,
            sample_mib,
        } => {
            let samples = match file {
                Some(path) => vec![io::read_array(&path, None, None)?.into_sample(&path)],
                None => sample::samples(sample_mib << 20),
            };
            println!(
                "ndpack {} bench, {} thread(s)",
                env!("CARGO_PKG_VERSION"),
                ndpack::get_num_threads()
            );
            let (rows, notes) = bench::run(&samples, Duration::from_millis(min_ms));
            print!("{}", bench::table(&rows));
            for note in notes {
                println!("skipped: {note}");
            }
        }
        Command::Demo => demo()?,
    }
    Ok(())
}

/// Round trip of the built-in sample through a few codecs and pipelines, checked byte for byte.
fn demo() -> ndpack::Result<()> {
    let s = &sample::samples(4 << 20)[0];
    let specs = [
        r#"{"id": "zlib", "level": 1}"#,
        r#"{"id": "zstd", "level": 3}"#,
        r#"{"id": "lz4"}"#,
        r#"{"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1}"#,
        r#"[{"id": "shuffle", "elementsize": 4}, {"id": "zstd", "level": 1}]"#,
    ];
    let mut ok = 0;
    for spec in specs {
        let p = match pipeline(spec) {
            Ok(p) => p,
            Err(e) => {
                println!("{spec:<70} unavailable: {e}");
                continue;
            }
        };
        let input = ArrayRef::new(&s.data, s.dtype.clone(), s.shape.clone(), ndpack::Order::C)?;
        let encoded = p.encode(input)?;
        let decoded = p.decode(encoded.bytes())?;
        if decoded.bytes() != &s.data[..] {
            return Err(ndpack::Error::corrupt(format!(
                "round trip through {spec} changed the data"
            )));
        }
        ok += 1;
        println!(
            "{spec:<70} {} -> {} bytes (ratio {:.2}), round trip exact",
            s.data.len(),
            encoded.bytes().len(),
            s.data.len() as f64 / encoded.bytes().len() as f64
        );
    }
    if ok == 0 {
        return Err(ndpack::Error::invalid_argument(
            "no codec of the demo is available",
        ));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ndpack: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipeline_specs_parse() {
        assert!(pipeline(r#"{"id": "zlib"}"#).unwrap().compressor.is_some());
        let p = pipeline(r#"[{"id": "zlib"}, {"id": "zlib", "level": 9}]"#).unwrap();
        assert_eq!(p.filters.len(), 1);
        assert!(pipeline("not json").is_err());
        assert!(pipeline(r#"{"id": "nope"}"#).is_err());
    }

    #[test]
    fn demo_round_trips() {
        demo().unwrap();
    }
}
