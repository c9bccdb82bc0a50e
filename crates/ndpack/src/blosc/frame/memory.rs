//! In-memory chunk storage: each stored chunk is a [`Buffer`] in a slab, addressed by the
//! entry's offset value. Chunks of a frame opened with `from_cframe(copy=false)` are views
//! into the caller's buffer.

use crate::buffer::Buffer;
use crate::error::{Error, Result};

/// A slab of chunk buffers with a free list.
#[derive(Debug, Default, Clone)]
pub(crate) struct Mem {
    slab: Vec<Buffer>,
    free: Vec<usize>,
}

impl Mem {
    /// Stores `chunk`; returns its slot.
    pub fn put(&mut self, chunk: Buffer) -> i64 {
        match self.free.pop() {
            Some(i) => {
                self.slab[i] = chunk;
                i as i64
            }
            None => {
                self.slab.push(chunk);
                (self.slab.len() - 1) as i64
            }
        }
    }

    /// The chunk in `slot`.
    pub fn get(&self, slot: i64) -> Result<Buffer> {
        usize::try_from(slot)
            .ok()
            .and_then(|i| self.slab.get(i))
            .cloned()
            .ok_or_else(|| Error::corrupt(format!("no chunk in memory slot {slot}")))
    }

    /// Frees `slot`.
    pub fn release(&mut self, slot: i64) {
        if let Some(b) = usize::try_from(slot)
            .ok()
            .and_then(|i| self.slab.get_mut(i))
        {
            *b = Buffer::empty();
            self.free.push(slot as usize);
        }
    }
}
