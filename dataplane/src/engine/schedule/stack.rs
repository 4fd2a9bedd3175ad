//! n8n's `nodeExecutionStack` in the execution arena.
//!
//! Why not a `VecDeque`: its buffer is one heap allocation (and free) per execution, which
//! showed up in the per-execution instruction count of the reference workflow. Here the
//! entries live in the arena, which is reset as a whole.
//!
//! Layout: the *front* of n8n's stack (the next entry to run) is the *end* of the vector,
//! so v1's `unshift` (push to the front) and every pop are O(1). Legacy v0 appends to the
//! back of n8n's stack, which is an insert at index 0 here: O(entries on the stack), and
//! the stack holds at most one entry per pending node run (bounded by the node-run limit).

use std::mem::ManuallyDrop;

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;

use super::Entry;

/// Entries the stack holds before its first growth (a chain keeps one at a time).
const STACK_ENTRIES_INITIAL: usize = 4;

/// The execution stack: `pop_front` returns the next node run.
pub struct Stack<'a> {
    /// Entries, next-to-run last.
    // Never dropped: see `Execution`'s run table (the arena reset frees it).
    entries: ManuallyDrop<BumpVec<'a, Entry<'a>>>,
}

impl<'a> Stack<'a> {
    /// An empty stack (allocates nothing until the first push).
    pub fn new_in(arena: &'a Bump) -> Self {
        Stack {
            // Sized up front: growing an empty arena vector on the first push costs more
            // than one bump allocation here.
            entries: ManuallyDrop::new(BumpVec::with_capacity_in(STACK_ENTRIES_INITIAL, arena)),
        }
    }

    /// True when nothing is left to run.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Puts `entry` first: it runs next (n8n's `unshift`, v1 order).
    pub fn push_front(&mut self, entry: Entry<'a>) {
        self.entries.push(entry);
    }

    /// Puts `entry` last: it runs after every entry already queued (n8n's `push`).
    pub fn push_back(&mut self, entry: Entry<'a>) {
        self.entries.insert(0, entry);
    }

    /// Takes the next entry to run (n8n's `shift`).
    pub fn pop_front(&mut self) -> Option<Entry<'a>> {
        self.entries.pop()
    }

    /// Every queued entry, in no particular order (membership checks only).
    pub fn iter(&self) -> impl Iterator<Item = &Entry<'a>> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(node: u32) -> Entry<'static> {
        Entry {
            node,
            inputs: &[],
            sources: &[],
        }
    }

    /// The same operations on a `VecDeque` (the reference) and on the arena stack.
    #[test]
    fn stack_orders_entries_as_a_deque_would() {
        let arena = Bump::new();
        let mut stack = Stack::new_in(&arena);
        let mut reference = std::collections::VecDeque::new();
        // push_front (v1), push_back (v0) and pops interleaved.
        let ops: [(u8, u32); 12] = [
            (0, 1),
            (0, 2),
            (1, 3),
            (2, 0),
            (1, 4),
            (0, 5),
            (2, 0),
            (2, 0),
            (1, 6),
            (2, 0),
            (2, 0),
            (2, 0),
        ];
        for (op, node) in ops {
            match op {
                0 => {
                    stack.push_front(entry(node));
                    reference.push_front(node);
                }
                1 => {
                    stack.push_back(entry(node));
                    reference.push_back(node);
                }
                _ => assert_eq!(stack.pop_front().map(|e| e.node), reference.pop_front()),
            }
            assert_eq!(stack.is_empty(), reference.is_empty());
            let mut on_stack: Vec<u32> = stack.iter().map(|e| e.node).collect();
            let mut expected: Vec<u32> = reference.iter().copied().collect();
            on_stack.sort_unstable();
            expected.sort_unstable();
            assert_eq!(on_stack, expected);
        }
        assert!(stack.pop_front().is_none());
    }
}
