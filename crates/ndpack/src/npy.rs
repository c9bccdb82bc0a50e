//! NPY and NPZ: header parsing and writing, zero-copy views, NPZ reading and writing (issue 3).
