//! Native Blosc: shuffle and bitshuffle kernels, BloscLZ, the Blosc1 and Blosc2 chunk formats.

pub mod bitshuffle;
pub mod blosclz;
pub mod shuffle;
