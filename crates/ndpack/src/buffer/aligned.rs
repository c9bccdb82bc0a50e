//! Aligned memory blocks: [`AlignedBytes`] (64-byte aligned, zeroed or for overwrite; large
//! blocks are anonymous memory maps in 2 MiB pages, recycled after use) and the limit of what one
//! allocation may ask for.

use std::alloc::{self, Layout};

use crate::error::{Error, Result};

/// The alignment of every block ndpack allocates.
pub const ALIGNMENT: usize = 64;

/// Blocks of at least this many bytes are anonymous memory maps: the kernel hands them out
/// zeroed (no `memset`, pages touched only when written) and, advised so, in 2 MiB pages (as
/// NumPy does for its large arrays), which cuts page faults 512-fold.
const MAP_MIN_BYTES: usize = 16 << 20;

/// A zero-initialised block of `len` bytes aligned to [`ALIGNMENT`].
pub struct AlignedBytes {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
    /// The mapping that owns the memory of a large block (`None`: the global allocator's).
    map: Option<memmap2::MmapMut>,
}

// SAFETY: AlignedBytes uniquely owns its allocation, like a Vec<u8>.
unsafe impl Send for AlignedBytes {}
// SAFETY: shared access only hands out `&[u8]`.
unsafe impl Sync for AlignedBytes {}

impl AlignedBytes {
    /// Allocates `len` zeroed bytes aligned to [`ALIGNMENT`]; aborts when the memory cannot be
    /// had, as `Vec` does. Sizes that come from input or from a caller go through
    /// [`AlignedBytes::try_zeroed`].
    pub fn zeroed(len: usize) -> Self {
        Self::try_zeroed(len).unwrap_or_else(|_| abort_alloc(len))
    }

    /// Allocates `len` zeroed bytes aligned to [`ALIGNMENT`], or an
    /// [`ErrorKind::OutOfMemory`](crate::ErrorKind::OutOfMemory) error when the memory cannot be
    /// had.
    pub fn try_zeroed(len: usize) -> Result<Self> {
        if len == 0 {
            return Ok(Self::empty());
        }
        if len >= MAP_MIN_BYTES {
            if let Some(map) = fresh_map(len) {
                return Ok(Self::from_map(map, len));
            }
        }
        Self::heap_zeroed(len)
    }

    /// Allocates `len` bytes aligned to [`ALIGNMENT`] whose contents the caller overwrites
    /// completely: the bytes are initialised but unspecified (zeros, or what an earlier block of
    /// this process held).
    ///
    /// Large blocks come from [`recycled`](self) maps of recently dropped blocks when one fits,
    /// so a loop that decodes into fresh arrays reuses memory whose pages are already mapped
    /// (no page faults, no zeroing by the kernel) instead of faulting in new pages on each call.
    /// In debug builds every block is filled with `0xA5` first, so that code which relies on
    /// zeros fails its tests. Aborts when the memory cannot be had, as `Vec` does; sizes that
    /// come from input or from a caller go through [`AlignedBytes::try_for_overwrite`].
    pub fn for_overwrite(len: usize) -> Self {
        Self::try_for_overwrite(len).unwrap_or_else(|_| abort_alloc(len))
    }

    /// As [`AlignedBytes::for_overwrite`], or an
    /// [`ErrorKind::OutOfMemory`](crate::ErrorKind::OutOfMemory) error when the memory cannot be
    /// had.
    pub fn try_for_overwrite(len: usize) -> Result<Self> {
        if len == 0 {
            return Ok(Self::empty());
        }
        let mut block = if len >= MAP_MIN_BYTES {
            match recycled::take(len).or_else(|| fresh_map(len)) {
                Some(map) => Self::from_map(map, len),
                None => Self::heap_zeroed(len)?,
            }
        } else {
            Self::heap_zeroed(len)?
        };
        if cfg!(debug_assertions) {
            block.as_mut_slice().fill(0xA5);
        }
        Ok(block)
    }

    fn empty() -> Self {
        AlignedBytes {
            ptr: std::ptr::NonNull::<[u8; ALIGNMENT]>::dangling().cast(),
            len: 0,
            map: None,
        }
    }

    fn from_map(mut map: memmap2::MmapMut, len: usize) -> Self {
        debug_assert!(map.len() >= len);
        // Page-aligned, so ALIGNMENT-aligned.
        let ptr = std::ptr::NonNull::new(map.as_mut_ptr()).expect("mapping is not null");
        AlignedBytes {
            ptr,
            len,
            map: Some(map),
        }
    }

    /// `len` (non-zero) zeroed bytes from the global allocator; an error when it has none.
    fn heap_zeroed(len: usize) -> Result<Self> {
        let layout = Layout::from_size_align(len, ALIGNMENT)
            .map_err(|_| Error::alloc_failed("memory block", len))?;
        // SAFETY: layout has non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr =
            std::ptr::NonNull::new(raw).ok_or_else(|| Error::alloc_failed("memory block", len))?;
        Ok(AlignedBytes {
            ptr,
            len,
            map: None,
        })
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: ptr is valid for len initialised bytes, uniquely owned by self.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

/// Reports a failed allocation of `len` bytes the way the standard library does (an abort).
fn abort_alloc(len: usize) -> ! {
    match Layout::from_size_align(len, ALIGNMENT) {
        Ok(layout) => alloc::handle_alloc_error(layout),
        Err(_) => panic!("capacity overflow: {len} bytes"),
    }
}

/// A new anonymous map of at least `len` bytes (rounded up to whole 2 MiB pages, so that blocks
/// of nearby sizes can reuse it), advised into huge pages.
fn fresh_map(len: usize) -> Option<memmap2::MmapMut> {
    let rounded = len.checked_next_multiple_of(recycled::HUGE_PAGE)?;
    let map = memmap2::MmapMut::map_anon(rounded).ok()?;
    // Only advice: without huge pages the block is still zeroed and valid.
    #[cfg(target_os = "linux")]
    let _ = map.advise(memmap2::Advice::HugePage);
    Some(map)
}

impl AsRef<[u8]> for AlignedBytes {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialised bytes for the lifetime of self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBytes {
    fn drop(&mut self) {
        if let Some(map) = self.map.take() {
            recycled::give(map);
        } else if self.len != 0 {
            let layout = Layout::from_size_align(self.len, ALIGNMENT).expect("checked at alloc");
            // SAFETY: allocated in `heap_zeroed` with this layout.
            unsafe { alloc::dealloc(self.ptr.as_ptr(), layout) };
        }
    }
}

/// Releases the large blocks ndpack keeps mapped for reuse (see [`AlignedBytes::for_overwrite`]):
/// at most 4 blocks and 256 MiB in all are ever kept.
pub fn release_cached_blocks() {
    recycled::clear();
}

/// The maps of recently dropped large blocks, kept for [`AlignedBytes::for_overwrite`], as
/// `malloc` keeps freed memory for the next allocation: a bounded list (newest last).
mod recycled {
    use std::sync::{Mutex, MutexGuard};

    use memmap2::MmapMut;

    use crate::threads::{take_unlocked, PerProcess};

    /// Map lengths are multiples of this.
    pub(super) const HUGE_PAGE: usize = 2 << 20;

    /// A bounded list of maps kept for reuse.
    pub(super) struct Recycler {
        maps: Mutex<Vec<MmapMut>>,
        max_blocks: usize,
        max_bytes: usize,
    }

    /// The process-wide list: at most 4 maps and 256 MiB. A child made by `fork` takes its
    /// parent's maps (its private copies) unless a thread held the lock at the fork.
    static RECYCLER: PerProcess<Recycler> = PerProcess::new(|parent| Recycler {
        maps: Mutex::new(take_unlocked(parent.map(|p| &p.maps))),
        ..Recycler::new(4, 256 << 20)
    });

    impl Recycler {
        pub(super) const fn new(max_blocks: usize, max_bytes: usize) -> Self {
            Recycler {
                maps: Mutex::new(Vec::new()),
                max_blocks,
                max_bytes,
            }
        }

        fn maps(&self) -> MutexGuard<'_, Vec<MmapMut>> {
            self.maps.lock().unwrap_or_else(|e| e.into_inner())
        }

        /// The smallest kept map that holds `len` bytes without wasting more than a quarter
        /// of it (or one huge page).
        pub(super) fn take(&self, len: usize) -> Option<MmapMut> {
            let mut maps = self.maps();
            let fits = |m: &MmapMut| m.len() >= len && m.len() - len <= (len / 4).max(HUGE_PAGE);
            let best = (0..maps.len())
                .filter(|&i| fits(&maps[i]))
                .min_by_key(|&i| maps[i].len())?;
            Some(maps.remove(best))
        }

        /// Keeps `map` for reuse, dropping the oldest maps beyond the bounds.
        pub(super) fn give(&self, map: MmapMut) {
            if map.len() > self.max_bytes || self.max_blocks == 0 {
                return;
            }
            let evicted: Vec<MmapMut> = {
                let mut maps = self.maps();
                maps.push(map);
                let mut total: usize = maps.iter().map(|m| m.len()).sum();
                let mut n = 0;
                while maps.len() - n > self.max_blocks || total > self.max_bytes {
                    total -= maps[n].len();
                    n += 1;
                }
                maps.drain(..n).collect()
            };
            drop(evicted); // unmapped outside the lock
        }

        pub(super) fn clear(&self) {
            let all = std::mem::take(&mut *self.maps());
            drop(all);
        }

        #[cfg(test)]
        pub(super) fn kept(&self) -> Vec<(usize, usize)> {
            self.maps()
                .iter()
                .map(|m| (m.as_ptr() as usize, m.len()))
                .collect()
        }
    }

    pub(super) fn take(len: usize) -> Option<MmapMut> {
        RECYCLER.get().take(len)
    }

    pub(super) fn give(map: MmapMut) {
        RECYCLER.get().give(map)
    }

    pub(super) fn clear() {
        RECYCLER.get().clear()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::{Buffer, NDBuffer};
    use crate::dtype::DataType;
    use crate::region::Order;

    #[test]
    fn recycler_reuses_fitting_maps_and_keeps_its_bounds() {
        use recycled::{Recycler, HUGE_PAGE};
        let r = Recycler::new(2, 10 * HUGE_PAGE);
        let map = |pages: usize| memmap2::MmapMut::map_anon(pages * HUGE_PAGE).unwrap();
        r.give(map(4));
        let kept = r.kept();
        assert_eq!(kept.len(), 1);
        // Too big for the request's slack, too small for another: not taken.
        assert!(r.take(HUGE_PAGE).is_none());
        assert!(r.take(4 * HUGE_PAGE + 1).is_none());
        let m = r.take(4 * HUGE_PAGE - 100).expect("fits");
        assert_eq!((m.as_ptr() as usize, m.len()), kept[0]);
        assert!(r.kept().is_empty());
        // The oldest maps go first, by count and by bytes.
        r.give(m);
        r.give(map(3));
        r.give(map(2));
        assert_eq!(
            r.kept().iter().map(|k| k.1 / HUGE_PAGE).collect::<Vec<_>>(),
            [3, 2]
        );
        r.give(map(6));
        assert_eq!(
            r.kept().iter().map(|k| k.1 / HUGE_PAGE).collect::<Vec<_>>(),
            [2, 6]
        );
        r.give(map(11)); // larger than the whole budget: not kept
        assert_eq!(r.kept().len(), 2);
        // The smallest fitting map is taken.
        r.give(map(5));
        assert_eq!(r.take(5 * HUGE_PAGE).unwrap().len(), 5 * HUGE_PAGE);
        r.clear();
        assert!(r.kept().is_empty());
    }

    #[test]
    fn blocks_for_overwrite_are_writable_and_poisoned_in_debug() {
        for len in [1, 100, MAP_MIN_BYTES + 5] {
            let mut b = AlignedBytes::for_overwrite(len);
            assert_eq!(b.as_ref().len(), len);
            assert_eq!(b.as_ref().as_ptr() as usize % ALIGNMENT, 0);
            assert_eq!(b.map.is_some(), len >= MAP_MIN_BYTES);
            if cfg!(debug_assertions) {
                assert!(b.as_ref().iter().all(|&v| v == 0xA5));
            }
            b.as_mut_slice()[len - 1] = 7;
            assert_eq!(b.as_ref()[len - 1], 7);
        }
        // zeroed() never hands out a recycled block's old bytes.
        drop(AlignedBytes::for_overwrite(MAP_MIN_BYTES + 5));
        let z = AlignedBytes::zeroed(MAP_MIN_BYTES + 5);
        assert!(z.as_ref().iter().step_by(4093).all(|&v| v == 0));
        release_cached_blocks();
    }

    #[test]
    fn large_blocks_are_zeroed_aligned_and_writable() {
        for len in [MAP_MIN_BYTES - 1, MAP_MIN_BYTES + 3] {
            let mut b = AlignedBytes::zeroed(len);
            assert_eq!(b.map.is_some(), len >= MAP_MIN_BYTES);
            assert_eq!(b.as_ref().len(), len);
            assert_eq!(b.as_ref().as_ptr() as usize % ALIGNMENT, 0);
            assert!(b.as_ref().iter().step_by(4093).all(|&v| v == 0));
            assert_eq!(b.as_ref()[len - 1], 0);
            let s = b.as_mut_slice();
            s[0] = 1;
            s[len - 1] = 2;
            assert_eq!((b.as_ref()[0], b.as_ref()[len - 1]), (1, 2));
        }
    }

    #[test]
    fn allocations_past_the_address_space_are_errors() {
        use crate::error::ErrorKind;
        // 2^56 bytes: more than any process can map, whatever the overcommit policy.
        let huge = 1usize << 56;
        for e in [
            AlignedBytes::try_zeroed(huge).err(),
            AlignedBytes::try_for_overwrite(huge).err(),
            AlignedBytes::try_zeroed(usize::MAX).err(),
            Buffer::try_zeroed(huge).err(),
        ] {
            assert_eq!(e.expect("no memory").kind(), ErrorKind::OutOfMemory);
        }
        let f8: DataType = "<f8".parse().unwrap();
        let e = NDBuffer::create(&[1 << 53], f8.clone(), Order::C, &[0; 8]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OutOfMemory, "{e}");
        assert!(NDBuffer::empty(&[1 << 50, 8], f8.clone(), Order::F).is_err());
        // Small and empty blocks still come back zeroed.
        assert!(AlignedBytes::try_zeroed(0).unwrap().as_ref().is_empty());
        let b = AlignedBytes::try_zeroed(MAP_MIN_BYTES + 1).unwrap();
        assert!(b.as_ref().iter().all(|&x| x == 0));
        assert_eq!(
            AlignedBytes::try_for_overwrite(100).unwrap().as_ref().len(),
            100
        );
        let nd = NDBuffer::create(&[3], f8, Order::C, &1.5f64.to_le_bytes()).unwrap();
        assert_eq!(&nd.buffer()[8..16], &1.5f64.to_le_bytes());
    }
}
