//! Reading NPZ members one at a time at the speed of [`NpzReader::read_all`]: a member read
//! through [`NpzReadAhead`] is decoded together with the members that follow it, in parallel on
//! ndpack's pool, and those are kept until they are asked for.
//!
//! The rule, which bounds the memory held ahead:
//!
//! - A read of a member that is not held decodes it in a batch with the members after it in
//!   directory order (wrapping around to the start), skipping those already read or held, as long
//!   as the bytes held ahead (declared uncompressed sizes) stay within the *window*. A batch also
//!   takes members beyond the window, while they fit within the *budget* ([`BUDGET`]), until its
//!   length is a multiple of the pool's threads, so that every round of a batch keeps the pool
//!   busy (with one thread nothing is decoded ahead).
//! - The window starts at [`FIRST_WINDOW`] and grows, up to the budget, each time a read finds
//!   every member decoded ahead already taken: it becomes twice the larger of itself and what the
//!   last batch decoded ahead. Reading the members in turn thus runs in a few batches of doubling
//!   size, while reading one member decodes only one more member per extra pool thread.
//!   On 8 deflated members of 8 MiB and 2 threads, rounding batches to whole rounds makes reading
//!   them in turn as fast as [`NpzReader::read_all`] (4 rounds of the pool, not 5).
//! - A held member is handed out once: a second read of the same key decodes it again (alone), so
//!   that every read returns its own memory, as `numpy.load` does. A member whose decoding failed
//!   ahead is neither held nor decoded ahead again: reading it decodes it and reports the error.
//! - [`NpzReadAhead::release`] drops whatever is held.

use std::sync::Mutex;

use rayon::prelude::*;

use super::zip::{NpzEntry, NpzReader};
use crate::error::{Error, Result};
use crate::threads;

/// The window of the first batch: nothing beyond one member per extra pool thread. Measured on
/// 64 deflated members of 64 KiB with 2 threads, reading every member in turn is as fast from a
/// window of 0 as from 4 MiB (the whole archive in the first batch), while reading a single
/// member costs about one member's decoding instead of the whole archive's (40x more).
pub const FIRST_WINDOW: u64 = 0;

/// The most bytes held ahead of reads (declared uncompressed sizes): 64 MiB.
pub const BUDGET: u64 = 64 << 20;

/// What a member's slot holds.
#[derive(Debug)]
enum Slot {
    /// Not decoded ahead (never read, or already handed out).
    Idle,
    /// Being decoded ahead by a batch in flight.
    InFlight,
    /// Decoded ahead, waiting to be read.
    Held(NpzEntry),
}

#[derive(Debug)]
struct State {
    slots: Vec<Slot>,
    /// Whether each member was handed out at least once (those are not decoded ahead again).
    read: Vec<bool>,
    /// Declared bytes of the members held or in flight.
    held: u64,
    /// The current window (see the module documentation).
    window: u64,
    /// Whether a batch has run (the window grows only after the first).
    started: bool,
    /// Declared bytes the last batch decoded ahead.
    last_ahead: u64,
}

/// The members one read decodes: the one asked for first, then those decoded ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    indices: Vec<usize>,
    bytes: u64,
}

impl Batch {
    /// The indices of the members, the one asked for first.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// Their declared uncompressed bytes together.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// An [`NpzReader`] that decodes members ahead of reads, in parallel and within a memory budget
/// (see the [module documentation](self) for the rule).
///
/// ```
/// use ndpack::npy::{NpzEntry, NpzReadAhead, NpzReader, NpzWriter};
/// use ndpack::{DataType, Order};
/// let data: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
/// let mut w = NpzWriter::new(true);
/// let f8 = "<f8".parse::<DataType>().unwrap().into();
/// w.add_array("x", &f8, &[2], Order::C, &data);
/// w.add_array("y", &f8, &[2], Order::C, &data);
/// let reader = NpzReader::open(w.finish().unwrap().into()).unwrap();
/// // A first window of 1 MiB: reading "x" also decodes "y", which the next read takes.
/// let npz = NpzReadAhead::with_window(reader, 1 << 20, 64 << 20);
/// let NpzEntry::Array(x) = npz.read(0).unwrap() else { panic!() };
/// assert_eq!(npz.held_bytes(), npz.reader().members()[1].uncompressed_size);
/// let NpzEntry::Array(y) = npz.read(1).unwrap() else { panic!() };
/// assert_eq!((&x.data()[..], &y.data()[..]), (&data[..], &data[..]));
/// assert_eq!(npz.held_bytes(), 0);
/// ```
#[derive(Debug)]
pub struct NpzReadAhead {
    reader: NpzReader,
    budget: u64,
    state: Mutex<State>,
}

impl NpzReadAhead {
    /// Reads `reader`'s members ahead with the window starting at [`FIRST_WINDOW`] and at most
    /// [`BUDGET`] bytes held.
    pub fn new(reader: NpzReader) -> Self {
        Self::with_window(reader, FIRST_WINDOW, BUDGET)
    }

    /// Reads `reader`'s members ahead with the window starting at `first` bytes and at most
    /// `budget` bytes held (`budget == 0`: members are read one at a time, nothing ahead).
    pub fn with_window(reader: NpzReader, first: u64, budget: u64) -> Self {
        let n = reader.members().len();
        let state = State {
            slots: (0..n).map(|_| Slot::Idle).collect(),
            read: vec![false; n],
            held: 0,
            window: first.min(budget),
            started: false,
            last_ahead: 0,
        };
        NpzReadAhead {
            reader,
            budget,
            state: Mutex::new(state),
        }
    }

    /// The archive.
    pub fn reader(&self) -> &NpzReader {
        &self.reader
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn size(&self, i: usize) -> u64 {
        self.reader.members()[i].uncompressed_size
    }

    /// Declared bytes of the members decoded ahead (or being decoded) and not read yet.
    pub fn held_bytes(&self) -> u64 {
        self.lock().held
    }

    /// Member `i` if it was decoded ahead (it is handed out and no longer held).
    pub fn take_held(&self, i: usize) -> Option<NpzEntry> {
        let mut s = self.lock();
        if !matches!(s.slots.get(i), Some(Slot::Held(_))) {
            return None;
        }
        let Slot::Held(entry) = std::mem::replace(&mut s.slots[i], Slot::Idle) else {
            unreachable!("checked above")
        };
        s.held -= self.size(i);
        s.read[i] = true;
        Some(entry)
    }

    /// The members a read of member `i` (not held) decodes, reserved for this batch: pass it to
    /// [`run`](Self::run) (the members of a batch that is not run stay reserved, and are decoded
    /// only when asked for).
    pub fn plan(&self, i: usize) -> Result<Batch> {
        let n = self.reader.members().len();
        if i >= n {
            return Err(Error::invalid_argument(format!(
                "no member {i} in an archive of {n}"
            )));
        }
        let mut s = self.lock();
        if s.started && s.held == 0 {
            // Everything decoded ahead was taken: the members are being read in turn.
            s.window = s
                .window
                .max(s.last_ahead)
                .saturating_mul(2)
                .min(self.budget);
        }
        s.started = true;
        let threads = threads::get_num_threads().max(1);
        let mut indices = vec![i];
        let mut bytes = self.size(i);
        for j in (i + 1..n).chain(0..i) {
            if s.read[j] || !matches!(s.slots[j], Slot::Idle) {
                continue;
            }
            let after = s.held.saturating_add(self.size(j));
            // Within the window, or rounding the batch up to a whole round of the pool.
            let fits = after <= s.window || (indices.len() % threads != 0 && after <= self.budget);
            if !fits {
                break;
            }
            s.held = after;
            s.slots[j] = Slot::InFlight;
            indices.push(j);
            bytes = bytes.saturating_add(self.size(j));
        }
        s.last_ahead = bytes - self.size(i);
        Ok(Batch { indices, bytes })
    }

    /// Decodes the members of `batch` (in parallel when there are several), keeps those decoded
    /// ahead and returns the first.
    pub fn run(&self, batch: Batch) -> Result<NpzEntry> {
        let indices = batch.indices;
        let results: Vec<Result<NpzEntry>> = if indices.len() == 1 {
            vec![self.reader.read_index(indices[0])]
        } else {
            threads::install(|| {
                indices
                    .par_iter()
                    .with_max_len(1)
                    .map(|&j| self.reader.read_index(j))
                    .collect()
            })
        };
        let mut results = results.into_iter();
        let first = results.next().expect("a batch holds the member asked for");
        let mut s = self.lock();
        for (&j, result) in indices[1..].iter().zip(results) {
            s.slots[j] = match result {
                Ok(entry) => Slot::Held(entry),
                Err(_) => {
                    // Not held nor decoded ahead again: reading it reports the error.
                    s.held -= self.size(j);
                    s.read[j] = true;
                    Slot::Idle
                }
            };
        }
        s.read[indices[0]] = true;
        first
    }

    /// Reads member `i`: the one decoded ahead if held, else through a new batch.
    pub fn read(&self, i: usize) -> Result<NpzEntry> {
        if let Some(entry) = self.take_held(i) {
            return Ok(entry);
        }
        let batch = self.plan(i)?;
        self.run(batch)
    }

    /// Drops the members held ahead (batches in flight still finish and keep theirs).
    pub fn release(&self) {
        let mut s = self.lock();
        for j in 0..s.slots.len() {
            if matches!(s.slots[j], Slot::Held(_)) {
                s.slots[j] = Slot::Idle;
                s.held -= self.size(j);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buffer::Buffer;
    use crate::error::ErrorKind;
    use crate::npy::{Descr, NpzWriter};
    use crate::Order;

    /// An archive of `n` members `m0`, `m1`, ... of `len` bytes each (distinct contents).
    fn archive(n: usize, len: usize, compressed: bool) -> Vec<u8> {
        let descr = Descr::Scalar("|u1".parse().unwrap());
        let data: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                (0..len)
                    .map(|k| ((k * 31 + i * 7) ^ (k >> 5)) as u8)
                    .collect()
            })
            .collect();
        let mut w = NpzWriter::new(compressed);
        for (i, d) in data.iter().enumerate() {
            w.add_array(&format!("m{i}"), &descr, &[len], Order::C, d);
        }
        w.finish().unwrap()
    }

    fn open(bytes: &[u8], first: u64, budget: u64) -> NpzReadAhead {
        let reader = NpzReader::open(Buffer::from_vec(bytes.to_vec())).unwrap();
        NpzReadAhead::with_window(reader, first, budget)
    }

    fn bytes_of(e: &NpzEntry) -> &[u8] {
        match e {
            NpzEntry::Array(a) => a.data(),
            NpzEntry::Bytes(b) => b,
        }
    }

    /// Reads members in `order`, checking each against `read_index` and the held bytes against
    /// the budget; returns the sizes of the batches that ran.
    fn read_in(npz: &NpzReadAhead, order: &[usize], budget: u64) -> Vec<usize> {
        let mut batches = Vec::new();
        for &i in order {
            let entry = match npz.take_held(i) {
                Some(e) => e,
                None => {
                    let batch = npz.plan(i).unwrap();
                    assert_eq!(batch.indices()[0], i);
                    batches.push(batch.indices().len());
                    npz.run(batch).unwrap()
                }
            };
            let want = npz.reader().read_index(i).unwrap();
            assert_eq!(bytes_of(&entry), bytes_of(&want), "member {i}");
            assert!(npz.held_bytes() <= budget, "{} held", npz.held_bytes());
        }
        batches
    }

    #[test]
    fn every_member_in_turn_matches_read_index() {
        for compressed in [false, true] {
            let bytes = archive(40, 3000, compressed);
            for (first, budget) in [(0, BUDGET), (1 << 20, BUDGET), (0, 0), (10_000, 20_000)] {
                let npz = open(&bytes, first, budget);
                let order: Vec<usize> = (0..40).collect();
                let batches = read_in(&npz, &order, budget);
                assert_eq!(batches.iter().sum::<usize>(), 40);
                assert_eq!(npz.held_bytes(), 0);
                if budget == 0 {
                    assert!(batches.iter().all(|&b| b == 1), "{batches:?}");
                }
                if first == 1 << 20 {
                    assert_eq!(batches, vec![40], "a small archive is read in one batch");
                }
            }
        }
    }

    #[test]
    fn batches_grow_while_members_are_read_in_turn() {
        threads::set_num_threads(2).unwrap();
        let bytes = archive(200, 1000, true);
        let npz = open(&bytes, 0, BUDGET);
        let order: Vec<usize> = (0..200).collect();
        let batches = read_in(&npz, &order, BUDGET);
        assert!(batches.len() >= 3, "{batches:?}");
        assert!(batches.len() <= 10, "{batches:?}");
        assert!(batches[batches.len() - 2] > 4 * batches[0], "{batches:?}");
    }

    #[test]
    fn any_order_wraps_around_and_reads_each_member_once_ahead() {
        let bytes = archive(30, 2000, true);
        let npz = open(&bytes, 0, BUDGET);
        let order: Vec<usize> = (0..30).map(|k| (k * 7 + 11) % 30).collect();
        let batches = read_in(&npz, &order, BUDGET);
        assert_eq!(batches.iter().sum::<usize>(), 30, "{batches:?}");
        assert_eq!(npz.held_bytes(), 0);
    }

    #[test]
    fn one_read_holds_at_most_the_window_or_the_budget() {
        let bytes = archive(64, 4096, true);
        let size = NpzReader::open(Buffer::from_vec(bytes.clone()))
            .unwrap()
            .members()[0]
            .uncompressed_size;
        let npz = open(&bytes, 5 * size, 8 * size);
        npz.read(10).unwrap();
        let held = npz.held_bytes();
        assert!(held <= 8 * size, "{held} held");
        assert!(held >= size, "members after the one read are held");
        // Reads of other members while much is held cannot exceed the budget.
        for i in [40, 3, 60, 41, 7] {
            npz.read(i).unwrap();
            assert!(npz.held_bytes() <= 8 * size);
        }
        npz.release();
        assert_eq!(npz.held_bytes(), 0);
        assert!(npz.take_held(11).is_none());
        assert_eq!(
            bytes_of(&npz.read(11).unwrap()),
            bytes_of(&npz.reader().read_index(11).unwrap())
        );
    }

    #[test]
    fn repeated_reads_return_their_own_memory() {
        let bytes = archive(8, 5000, true);
        let npz = open(&bytes, 1 << 20, BUDGET);
        let a = npz.read(3).unwrap();
        let b = npz.read(3).unwrap();
        let c = npz.read(3).unwrap();
        assert_eq!(bytes_of(&a), bytes_of(&b));
        assert_eq!(bytes_of(&a), bytes_of(&c));
        assert_ne!(bytes_of(&a).as_ptr(), bytes_of(&b).as_ptr());
        assert_ne!(bytes_of(&b).as_ptr(), bytes_of(&c).as_ptr());
        // A member read once is not decoded ahead again.
        assert!(npz.take_held(3).is_none());
        // The others were decoded ahead at the first read and are taken once each.
        for i in (0..8).filter(|&i| i != 3) {
            assert!(npz.take_held(i).is_some(), "member {i}");
            assert!(npz.take_held(i).is_none(), "member {i}");
        }
        assert_eq!(npz.held_bytes(), 0);
    }

    #[test]
    fn a_member_failing_ahead_is_not_held_and_fails_when_read() {
        let mut bytes = archive(6, 3000, false);
        let r = NpzReader::open(Buffer::from_vec(bytes.clone()))
            .unwrap()
            .members()[2]
            .data_range
            .clone();
        bytes[r.end - 1] ^= 0xFF;
        let npz = open(&bytes, 1 << 20, BUDGET);
        npz.read(0).unwrap();
        assert!(npz.take_held(2).is_none());
        for _ in 0..2 {
            assert_eq!(npz.read(2).unwrap_err().kind(), ErrorKind::ChecksumMismatch);
        }
        for i in [1, 3, 4, 5] {
            assert!(npz.take_held(i).is_some(), "member {i}");
        }
        assert_eq!(npz.held_bytes(), 0);
        // A failing member asked for itself reports its error; the others are still held.
        let npz = open(&bytes, 1 << 20, BUDGET);
        assert_eq!(npz.read(2).unwrap_err().kind(), ErrorKind::ChecksumMismatch);
        assert!(npz.take_held(3).is_some());
    }

    #[test]
    fn concurrent_reads_agree() {
        let bytes = archive(48, 6000, true);
        let npz = open(&bytes, 0, 100_000);
        std::thread::scope(|scope| {
            for t in 0..4 {
                let npz = &npz;
                scope.spawn(move || {
                    for k in 0..48 {
                        let i = (k * 5 + t * 13) % 48;
                        let got = npz.read(i).unwrap();
                        let want = npz.reader().read_index(i).unwrap();
                        assert_eq!(bytes_of(&got), bytes_of(&want));
                    }
                });
            }
        });
        assert!(npz.held_bytes() <= 100_000);
    }

    #[test]
    fn out_of_range_is_an_error() {
        let npz = open(&archive(2, 10, false), 0, BUDGET);
        assert_eq!(npz.plan(2).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(npz.read(7).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert!(npz.take_held(7).is_none());
    }
}
