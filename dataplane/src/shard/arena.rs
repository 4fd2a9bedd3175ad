//! The shard's arena pool: one bumpalo arena per in-flight execution, reset and reused.
//!
//! Executions suspend on effects (outbound HTTP, timers), so several run interleaved on
//! one shard and each needs memory of its own. The pool is bounded by the most executions
//! a shard keeps in flight; above it admission answers 503 at once instead of queueing
//! without limit. An arena that grew past [`ARENA_RETAINED_BYTES_MAX`] is dropped rather
//! than pooled, so one huge request does not pin its memory for the life of the shard.

use std::cell::{Cell, RefCell};
use std::ops::Deref;
use std::rc::Rc;

use bumpalo::Bump;

/// Default most executions in flight on one shard (= arenas in its pool).
pub const EXECUTIONS_IN_FLIGHT_MAX_DEFAULT: usize = 1024;
/// Largest arena kept for reuse; a bigger one is freed when its execution ends.
pub const ARENA_RETAINED_BYTES_MAX: usize = 4 * 1024 * 1024;

/// A bounded pool of arenas (single-threaded: the shard owns it).
#[derive(Debug)]
pub(crate) struct ArenaPool {
    free: RefCell<Vec<Bump>>,
    in_use: Cell<usize>,
    in_flight_max: usize,
}

impl ArenaPool {
    /// A pool lending at most `in_flight_max` arenas at once.
    pub(crate) fn new(in_flight_max: usize) -> Rc<Self> {
        assert!(in_flight_max > 0, "a shard must run at least one execution");
        Rc::new(ArenaPool {
            free: RefCell::new(Vec::new()),
            in_use: Cell::new(0),
            in_flight_max,
        })
    }

    /// Lends an empty arena, or `None` when `in_flight_max` executions already hold one.
    pub(crate) fn lease(self: &Rc<Self>) -> Option<ArenaLease> {
        let in_use = self.in_use.get();
        if in_use >= self.in_flight_max {
            return None;
        }
        self.in_use.set(in_use + 1);
        let arena = self.free.borrow_mut().pop().unwrap_or_default();
        Some(ArenaLease {
            arena: Some(arena),
            pool: self.clone(),
        })
    }

    /// Arenas lent out now.
    pub(crate) fn in_use(&self) -> usize {
        self.in_use.get()
    }

    fn give_back(&self, mut arena: Bump) {
        let in_use = self.in_use.get();
        assert!(in_use > 0, "an arena came back that was never lent");
        self.in_use.set(in_use - 1);
        if arena.allocated_bytes() > ARENA_RETAINED_BYTES_MAX {
            return;
        }
        arena.reset();
        let mut free = self.free.borrow_mut();
        // Never more pooled than could be lent: the bound holds for memory too.
        if free.len() < self.in_flight_max {
            free.push(arena);
        }
    }
}

/// An arena lent to one execution; goes back to the pool (reset) when dropped, also when
/// the execution's task is dropped midway.
#[derive(Debug)]
pub(crate) struct ArenaLease {
    arena: Option<Bump>,
    pool: Rc<ArenaPool>,
}

impl Deref for ArenaLease {
    type Target = Bump;

    fn deref(&self) -> &Bump {
        self.arena.as_ref().expect("present until drop")
    }
}

impl Drop for ArenaLease {
    fn drop(&mut self) {
        if let Some(arena) = self.arena.take() {
            self.pool.give_back(arena);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_refuses_above_its_bound_and_reuses_returned_arenas() {
        let pool = ArenaPool::new(2);
        let a = pool.lease().expect("first");
        let b = pool.lease().expect("second");
        assert!(pool.lease().is_none(), "bound of 2 reached");
        assert_eq!(pool.in_use(), 2);
        a.alloc_slice_fill_copy(1000, 7u8);
        drop(a);
        assert_eq!(pool.in_use(), 1);
        let c = pool.lease().expect("slot freed");
        // The reused arena was reset but keeps its chunk: small allocations fit in it.
        assert!(c.allocated_bytes() >= 1000, "keeps its chunk");
        let before = c.allocated_bytes();
        let slice = c.alloc_slice_fill_copy(10, 1u8);
        assert_eq!(slice.len(), 10);
        assert_eq!(c.allocated_bytes(), before, "fits in the retained chunk");
        drop(b);
        drop(c);
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn oversized_arenas_are_not_retained() {
        let pool = ArenaPool::new(1);
        let a = pool.lease().expect("lease");
        a.alloc_slice_fill_copy(ARENA_RETAINED_BYTES_MAX + 1, 0u8);
        drop(a);
        assert!(pool.free.borrow().is_empty());
        assert!(pool.lease().is_some());
    }
}
