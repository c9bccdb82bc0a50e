//! Ordered parallel encoding from both ends ([`two_ended`]): items of unknown encoded size
//! (the blocks of a Blosc chunk, or the streams of one block) written one after the other into
//! one output, with the bytes of a serial loop whatever the number of workers.

use rayon::prelude::*;

use super::{get_num_threads, install, pool, take_unlocked, PerProcess};
use crate::error::Result;

/// At least this many staged bytes are copied into place in parallel pieces.
const PARALLEL_COPY_MIN: usize = 4 << 20;

/// Where the items of one two-ended encoding (the blocks of a chunk, or the streams of one block)
/// go while they are encoded: the worker that starts at item 0 (the "front") writes straight into
/// the output, since it always knows where its next item starts; the others take items from the
/// end and write them into staging buffers, copied into place once every item's size is known.
/// The two sides meet wherever the work balances.
struct ItemQueue {
    /// `(lo, hi)`: the items not yet taken are `lo..hi`.
    range: std::sync::Mutex<(usize, usize)>,
}

impl ItemQueue {
    fn new(n: usize) -> Self {
        ItemQueue {
            range: std::sync::Mutex::new((0, n)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, usize)> {
        self.range.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_front(&self) -> Option<usize> {
        let mut r = self.lock();
        (r.0 < r.1).then(|| {
            r.0 += 1;
            r.0 - 1
        })
    }

    fn take_back(&self) -> Option<usize> {
        let mut r = self.lock();
        (r.0 < r.1).then(|| {
            r.1 -= 1;
            r.1
        })
    }

    /// Stops every worker (the items will not fit).
    fn close(&self) {
        let mut r = self.lock();
        r.1 = r.0;
    }
}

/// Items encoded by a back worker: its staging buffer (kept fully initialised) and, per item,
/// `(index, offset in the buffer, length)`.
struct Staged {
    buf: Vec<u8>,
    items: Vec<(usize, usize, usize)>,
    all_marked: bool,
}

/// Staging buffers kept for the next encoding, so that steady encoding allocates nothing and writes
/// into pages that are already mapped. A child made by `fork` takes its parent's unless a thread
/// held the lock at the fork.
static STAGING: PerProcess<std::sync::Mutex<Vec<Vec<u8>>>> =
    PerProcess::new(|parent| std::sync::Mutex::new(take_unlocked(parent)));
/// The pieces staged items are copied in, in parallel.
const COPY_PIECE: usize = 64 * 1024;
/// Staging buffers larger than this are dropped after use instead of kept.
const STAGING_KEEP_MAX: usize = 64 << 20;

fn staging_take() -> Vec<u8> {
    let mut pool = STAGING.get().lock().unwrap_or_else(|e| e.into_inner());
    pool.pop().unwrap_or_default()
}

fn staging_give(buf: Vec<u8>) {
    let mut pool = STAGING.get().lock().unwrap_or_else(|e| e.into_inner());
    if buf.len() <= STAGING_KEEP_MAX && pool.len() < 2 * get_num_threads() {
        pool.push(buf);
    }
}

/// Items written one after the other from the start of the output by [`two_ended`].
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) struct Placed {
    /// Each item's encoded size, in item order.
    pub sizes: Vec<usize>,
    /// Whether every item was marked by its encoder (Blosc: a stream of zero runs).
    pub all_marked: bool,
}

impl Placed {
    /// The items' total size.
    pub fn len(&self) -> usize {
        self.sizes.iter().sum()
    }
}

/// What became of items encoded from both ends.
enum Placement {
    Placed(Placed),
    /// Larger than the output.
    TooLarge,
    /// Too close to the end of the output to keep the staged items: encode them serially.
    Serial,
}

/// Encodes items `0..n` one after the other into `out`, with the bytes of the serial encoder,
/// which gives item `i` `most(i)` bytes of room (its largest encoding) or, near the end of `out`,
/// what is left. Returns `None` when they do not fit in `out`.
///
/// `encode(i, room)` writes item `i` at the start of `room` and returns its size and a mark
/// (Blosc: whether it was all zero runs; [`Placed::all_marked`] tells whether every item was
/// marked), or `None` when it does not fit. With `workers > 1` (on the pool), one
/// worker takes items from the start and writes them in place (see [`ItemQueue`]), the others
/// take them from the end into staging buffers with a room of `most(i)`; those are copied into
/// place when all are done. Where the serial encoder would have given a staged item less room
/// than it had (which could change what a compressor does), the items are encoded again by one
/// worker, so the bytes never depend on the number of workers.
pub(crate) fn two_ended<M, E>(
    n: usize,
    workers: usize,
    out: &mut [u8],
    most: M,
    encode: E,
) -> Result<Option<Placed>>
where
    M: Fn(usize) -> usize + Sync,
    E: Fn(usize, &mut [u8]) -> Result<Option<(usize, bool)>> + Sync,
{
    let queue = ItemQueue::new(n);
    let workers = workers.min(n);
    if workers <= 1 {
        let front = encode_front(&queue, out, &most, &encode)?;
        return Ok(front.map(|(sizes, all_marked)| Placed { sizes, all_marked }));
    }
    let room = out.len();
    // The calling thread is the front worker; the back workers are jobs on the pool, so the
    // front starts at once instead of waiting for a pool thread to wake up.
    let staged = std::sync::Mutex::new(Vec::with_capacity(workers - 1));
    let front = pool().in_place_scope(|s| {
        for _ in 1..workers {
            s.spawn(|_| {
                let back = encode_back(&queue, room, &most, &encode);
                staged.lock().unwrap_or_else(|e| e.into_inner()).push(back);
            });
        }
        encode_front(&queue, &mut *out, &most, &encode)
    });
    let staged = staged.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut fits = true;
    let mut back_error = None;
    let mut list = Vec::with_capacity(staged.len());
    for s in staged {
        match s {
            Ok(Some(s)) => list.push(s),
            Ok(None) => fits = false,
            Err(e) => {
                back_error.get_or_insert(e);
            }
        }
    }
    let placement = match (front, back_error) {
        (Err(e), _) | (Ok(_), Some(e)) => Err(e),
        (Ok(Some(front)), None) if fits => Ok(place_staged(front, &list, out, &most)),
        _ => Ok(Placement::TooLarge),
    };
    for s in list {
        staging_give(s.buf);
    }
    match placement? {
        Placement::Placed(placed) => Ok(Some(placed)),
        Placement::TooLarge => Ok(None),
        Placement::Serial => two_ended(n, 1, out, most, encode),
    }
}

/// The front worker of [`two_ended`]: takes items from the start and writes them one after the
/// other into `out`. Returns its items' sizes (items `0..k`) and whether all were marked, or
/// `None` (stopping the others) when one does not fit.
fn encode_front<M, E>(
    queue: &ItemQueue,
    out: &mut [u8],
    most: &M,
    encode: &E,
) -> Result<Option<(Vec<usize>, bool)>>
where
    M: Fn(usize) -> usize,
    E: Fn(usize, &mut [u8]) -> Result<Option<(usize, bool)>>,
{
    let mut sizes = Vec::new();
    let mut all_marked = true;
    let mut at = 0;
    while let Some(i) = queue.take_front() {
        // Near the end of the output the item gets what is left.
        let end = (at + most(i)).min(out.len());
        match encode(i, &mut out[at..end]) {
            Ok(Some((len, mark))) => {
                sizes.push(len);
                all_marked &= mark;
                at += len;
            }
            other => {
                queue.close();
                return other.map(|_| None);
            }
        }
    }
    Ok(Some((sizes, all_marked)))
}

/// A back worker of [`two_ended`]: takes items from the end and encodes them into a staging
/// buffer. `None` (stopping the others) when its items alone exceed the `room` of the output.
fn encode_back<M, E>(queue: &ItemQueue, room: usize, most: &M, encode: &E) -> Result<Option<Staged>>
where
    M: Fn(usize) -> usize,
    E: Fn(usize, &mut [u8]) -> Result<Option<(usize, bool)>>,
{
    let mut staged = Staged {
        buf: staging_take(),
        items: Vec::new(),
        all_marked: true,
    };
    let mut used = 0;
    let fits = loop {
        let Some(i) = queue.take_back() else {
            break Ok(true);
        };
        let most = most(i);
        if used + most > staged.buf.len() {
            // Zeroed when grown, so the buffer is always initialised.
            let want = (used + most).max(2 * staged.buf.len());
            staged.buf.resize(want, 0);
        }
        // The room holds the item's largest encoding, so `None` means it cannot fit.
        match encode(i, &mut staged.buf[used..used + most]) {
            Ok(Some((len, mark))) if used + len <= room => {
                staged.items.push((i, used, len));
                staged.all_marked &= mark;
                used += len;
            }
            Ok(_) => break Ok(false),
            Err(e) => break Err(e),
        }
    };
    if !matches!(fits, Ok(true)) {
        queue.close();
        staging_give(std::mem::take(&mut staged.buf));
    }
    fits.map(|fits| fits.then_some(staged))
}

/// Copies the staged items after the front's into `out` (in pieces on the pool when there is
/// much to copy), or tells why it cannot (see [`Placement`]).
fn place_staged(
    (mut sizes, mut all_marked): (Vec<usize>, bool),
    staged: &[Staged],
    out: &mut [u8],
    most: impl Fn(usize) -> usize,
) -> Placement {
    let mut parts: Vec<(usize, &[u8])> = Vec::new();
    for s in staged {
        all_marked &= s.all_marked;
        parts.extend(
            s.items
                .iter()
                .map(|&(i, at, len)| (i, &s.buf[at..at + len])),
        );
    }
    parts.sort_unstable_by_key(|p| p.0);
    let front_len: usize = sizes.iter().sum();
    let len = front_len + parts.iter().map(|p| p.1.len()).sum::<usize>();
    if len > out.len() {
        return Placement::TooLarge;
    }
    // The front gave each item what was left of the output, as the serial encoder does; the
    // staged items had the room of their largest encoding. Near the end of the output that
    // could change a decision (a stream that c-blosc could not compress in the room left).
    let mut at = front_len;
    for &(i, bytes) in &parts {
        if at + most(i) > out.len() {
            return Placement::Serial;
        }
        at += bytes.len();
    }
    // The staged items, each into its place: in pieces of at most COPY_PIECE bytes on the pool
    // when there is much to copy.
    let mut rest = &mut out[front_len..len];
    let mut jobs = Vec::with_capacity(parts.len());
    for &(_, bytes) in &parts {
        let (part, tail) = rest.split_at_mut(bytes.len());
        jobs.extend(part.chunks_mut(COPY_PIECE).zip(bytes.chunks(COPY_PIECE)));
        rest = tail;
        sizes.push(bytes.len());
    }
    if jobs.len() > 1 && len - front_len >= PARALLEL_COPY_MIN {
        install(|| jobs.into_par_iter().for_each(|(d, s)| d.copy_from_slice(s)));
    } else {
        jobs.into_iter().for_each(|(d, s)| d.copy_from_slice(s));
    }
    Placement::Placed(Placed { sizes, all_marked })
}

/// Helpers of the tests of [`two_ended`] and of its callers.
#[cfg(test)]
pub(crate) mod testing {
    use super::{two_ended, Placed};

    /// The items, sizes and flags that [`two_ended`] gives with `workers` workers in `size`
    /// bytes, and how many items it encoded (more than `n` when it encoded them again serially).
    /// The front waits for a back worker's first item (the last one), so that both ends take
    /// items whatever the scheduling.
    pub(crate) fn both_ends(
        n: usize,
        workers: usize,
        size: usize,
        most: impl Fn(usize) -> usize + Sync,
        item: impl Fn(usize, &mut [u8]) -> Option<(usize, bool)> + Sync,
    ) -> (Option<(Vec<u8>, Placed)>, usize) {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let back_started = AtomicBool::new(false);
        let encodes = AtomicUsize::new(0);
        let mut out = vec![0xA5u8; size];
        let got = two_ended(n, workers, &mut out, most, |i, room: &mut [u8]| {
            encodes.fetch_add(1, Ordering::Relaxed);
            if i == n - 1 {
                back_started.store(true, Ordering::Release);
            }
            if i == 0 && workers > 1 && rayon::current_num_threads() > 1 {
                while !back_started.load(Ordering::Acquire) {
                    // Runs pending pool work meanwhile (that back worker, perhaps), so that two
                    // tests waiting here at once cannot hold every thread of the pool.
                    if !matches!(rayon::yield_now(), Some(rayon::Yield::Executed)) {
                        std::thread::yield_now();
                    }
                }
            }
            Ok(item(i, room))
        });
        let got = got.unwrap().map(|p| (out[..p.len()].to_vec(), p));
        (got, encodes.into_inner())
    }

    /// [`both_ends`] with 2-4 workers gives the serial encoder's result at every size from
    /// `sizes`; returns how often the staged items were placed and encoded again.
    pub(crate) fn serial_at_every_size(
        n: usize,
        sizes: std::ops::Range<usize>,
        most: impl Fn(usize) -> usize + Sync + Copy,
        item: impl Fn(usize, &mut [u8]) -> Option<(usize, bool)> + Sync + Copy,
    ) -> (usize, usize) {
        let (mut placed, mut again) = (0, 0);
        for size in sizes {
            let (serial, _) = both_ends(n, 1, size, most, item);
            for workers in 2..=4 {
                let (got, encodes) = both_ends(n, workers, size, most, item);
                assert!(got == serial, "x{workers} in {size} bytes");
                placed += usize::from(got.is_some() && encodes == n);
                again += usize::from(encodes > n);
            }
        }
        (placed, again)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::serial_at_every_size;
    use crate::threads::get_num_threads;

    /// [`two_ended`] with items whose encoding depends on their room, as a compressor's does
    /// (compressed only with room for twice the result, else stored raw if that fits): every
    /// number of workers gives the serial encoder's items, sizes and flags at every output size,
    /// including those where a staged item had more room than the serial encoder would give it.
    #[test]
    fn two_ended_gives_the_serial_items_at_every_size() {
        let n = 7;
        let raw = |i: usize| 40 + 13 * i;
        let packed = |i: usize| 10 + (i * 7) % 11;
        let most = move |i: usize| 4 + raw(i);
        let item = move |i: usize, room: &mut [u8]| {
            let (len, fill) = if room.len() >= 4 + 2 * packed(i) {
                (4 + packed(i), i as u8)
            } else if room.len() >= most(i) {
                (most(i), 0x80 | i as u8)
            } else {
                return None;
            };
            room[..len].fill(fill);
            // Marked when compressed, so that the flag depends on the room too.
            Some((len, len < most(i)))
        };
        let compressed: usize = (0..n).map(|i| 4 + packed(i)).sum();
        let (placed, again) =
            serial_at_every_size(n, compressed - 40..compressed + 200, most, item);
        if get_num_threads() > 1 {
            // Both outcomes of the staged items were met: placed, and encoded again serially.
            assert!(placed > 0 && again > 0, "{placed} placed, {again} again");
        }
    }
}
