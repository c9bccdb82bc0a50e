//! The `ndpack` command line: encode, decode, list codecs, benchmark.

fn main() {
    println!("ndpack {}", env!("CARGO_PKG_VERSION"));
}
