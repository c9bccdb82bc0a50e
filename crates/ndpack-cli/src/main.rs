//! The `ndpack` command line: encode and decode files with any numcodecs codec, list codecs,
//! benchmark codecs on an array, pack .npy files into b2nd arrays and back, describe a frame,
//! and a demo of all of it on built-in sample arrays.

mod array;
mod bench;
mod demo;
mod io;
mod key;
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
    /// Store a .npy array as a b2nd array (python-blosc2's `.b2nd`; caterva 0.7.3 with
    /// --caterva).
    Pack {
        /// Input .npy file.
        input: PathBuf,
        /// Output: a frame file, or with --sparse a directory.
        output: PathBuf,
        /// Chunk shape, e.g. 100,100 (default: python-blosc2's rule from the cache sizes).
        #[arg(long)]
        chunks: Option<String>,
        /// Block shape, e.g. 10,10 (default: python-blosc2's rule).
        #[arg(long)]
        blocks: Option<String>,
        /// Compressor: blosclz, lz4, lz4hc, zlib or zstd.
        #[arg(long, default_value = "zstd")]
        codec: String,
        /// Compression level, 0 to 9.
        #[arg(long, default_value_t = 5)]
        clevel: u8,
        /// Filters in pipeline order, e.g. shuffle, bitshuffle, "delta,shuffle",
        /// "trunc_prec:10" (name:meta), nofilter.
        #[arg(long, default_value = "shuffle")]
        filters: String,
        /// One frame file (the default).
        #[arg(long, conflicts_with = "sparse")]
        contiguous: bool,
        /// A sparse directory: one file per chunk plus the frame.
        #[arg(long)]
        sparse: bool,
        /// Also write the caterva metalayer, so that python-caterva 0.7.3 opens the array
        /// (at most 8 dimensions).
        #[arg(long)]
        caterva: bool,
    },
    /// Read a b2nd or caterva array (or part of it) into a .npy file.
    Unpack {
        /// Input: a frame file or sparse directory.
        input: PathBuf,
        /// Output .npy file.
        output: PathBuf,
        /// NumPy basic indexing, e.g. "0:100,::2", "-1", "...,::-1" (default: everything).
        #[arg(long, allow_hyphen_values = true)]
        slice: Option<String>,
    },
    /// Describe a frame file or sparse directory (shape, dtype, chunks, blocks, codec, filters,
    /// ratio, metalayers, vlmeta, special chunks), or a .npy file.
    Info {
        /// The file or directory.
        file: PathBuf,
    },
    /// Codec round trips on a built-in sample, then the sample arrays packed into .b2nd files,
    /// described, and read back by slices that are checked against the originals.
    Demo {
        /// Where to write the .b2nd files (default: a fresh directory in the temp dir).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Size of each built-in sample in MiB.
        #[arg(long, default_value_t = 4)]
        sample_mib: usize,
    },
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
        Command::Pack {
            input,
            output,
            chunks,
            blocks,
            codec,
            clevel,
            filters,
            contiguous: _,
            sparse,
            caterva,
        } => {
            let opts = array::PackOptions {
                chunks,
                blocks,
                codec: Some(codec),
                clevel: Some(clevel),
                filters: Some(filters),
                sparse,
                caterva,
            };
            let a = array::pack(&input, &output, &opts)?;
            eprintln!(
                "{} -> {}: shape {}, chunks {}, blocks {}, {} -> {} bytes (ratio {:.2})",
                input.display(),
                output.display(),
                array::tuple(a.shape()),
                array::tuple(a.chunks()),
                array::tuple(a.blocks()),
                a.nbytes(),
                a.cbytes(),
                a.cratio()
            );
        }
        Command::Unpack {
            input,
            output,
            slice,
        } => {
            let shape = array::unpack(&input, &output, slice.as_deref())?;
            eprintln!(
                "{} -> {}: shape {}",
                input.display(),
                output.display(),
                array::tuple(&shape)
            );
        }
        Command::Info { file } => print!("{}", array::info(&file)?),
        Command::Demo { dir, sample_mib } => {
            codec_demo()?;
            demo::arrays(dir.as_deref(), sample_mib << 20)?;
        }
    }
    Ok(())
}

/// Round trip of the built-in sample through a few codecs and pipelines, checked byte for byte.
fn codec_demo() -> ndpack::Result<()> {
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
    fn codec_demo_round_trips() {
        codec_demo().unwrap();
    }
}
