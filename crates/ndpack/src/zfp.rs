//! ZFP compression with zfpy's header and dimension order, on the zfp-rs engine (issue 4).
