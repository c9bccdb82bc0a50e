//! Byte shuffle and unshuffle with c-blosc's layout: byte `j` of item `i` goes to
//! `dst[j * nitems + i]`; the trailing `len % typesize` bytes are copied unshuffled.

/// Shuffles `src` into `dst` (same length) for items of `typesize` bytes.
pub fn shuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    shuffle_portable(typesize, src, dst)
}

/// Reverses [`shuffle`].
pub fn unshuffle(typesize: usize, src: &[u8], dst: &mut [u8]) {
    unshuffle_portable(typesize, src, dst)
}

/// The portable reference implementation of [`shuffle`].
pub fn shuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) {
    assert_eq!(src.len(), dst.len(), "shuffle needs equal lengths");
    if typesize <= 1 || src.len() < typesize {
        dst.copy_from_slice(src);
        return;
    }
    let nitems = src.len() / typesize;
    let body = nitems * typesize;
    for (i, item) in src[..body].chunks_exact(typesize).enumerate() {
        for (j, &b) in item.iter().enumerate() {
            dst[j * nitems + i] = b;
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

/// The portable reference implementation of [`unshuffle`].
pub fn unshuffle_portable(typesize: usize, src: &[u8], dst: &mut [u8]) {
    assert_eq!(src.len(), dst.len(), "unshuffle needs equal lengths");
    if typesize <= 1 || src.len() < typesize {
        dst.copy_from_slice(src);
        return;
    }
    let nitems = src.len() / typesize;
    let body = nitems * typesize;
    for (i, item) in dst[..body].chunks_exact_mut(typesize).enumerate() {
        for (j, b) in item.iter_mut().enumerate() {
            *b = src[j * nitems + i];
        }
    }
    dst[body..].copy_from_slice(&src[body..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_round_trip() {
        let src: Vec<u8> = (0..11).collect();
        let mut dst = vec![0; 11];
        shuffle(4, &src, &mut dst);
        assert_eq!(dst, vec![0, 4, 1, 5, 2, 6, 3, 7, 8, 9, 10]);
        let mut back = vec![0; 11];
        unshuffle(4, &dst, &mut back);
        assert_eq!(back, src);
    }
}
