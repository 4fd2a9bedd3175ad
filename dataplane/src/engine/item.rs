//! Items: the unit of data flowing between nodes, as in n8n (`{json, binary, pairedItem}`).

use bumpalo::Bump;

use super::value::Value;

/// Items per input whose one-entry lineage (`[{item, input}]`) comes from a shared static
/// table instead of the arena. Why: nearly every item a node emits points at exactly one
/// input item, and one arena slice per item showed up in the instruction counts.
pub const SHARED_LINEAGE_ITEMS: usize = 256;
/// Inputs covered by the shared lineage table (main input and Merge's second input).
pub const SHARED_LINEAGE_INPUTS: usize = 2;

static SHARED_LINEAGE: [[PairedItem; SHARED_LINEAGE_ITEMS]; SHARED_LINEAGE_INPUTS] = {
    let mut table =
        [[PairedItem { item: 0, input: 0 }; SHARED_LINEAGE_ITEMS]; SHARED_LINEAGE_INPUTS];
    let mut input = 0;
    while input < SHARED_LINEAGE_INPUTS {
        let mut item = 0;
        while item < SHARED_LINEAGE_ITEMS {
            table[input][item] = PairedItem {
                item: item as u32,
                input: input as u32,
            };
            item += 1;
        }
        input += 1;
    }
    table
};

/// The lineage `[{item, input}]`: a shared static slice for the common indexes, else one
/// arena allocation.
pub fn single_lineage(arena: &Bump, item: usize, input: usize) -> &[PairedItem] {
    if item < SHARED_LINEAGE_ITEMS && input < SHARED_LINEAGE_INPUTS {
        let shared = &SHARED_LINEAGE[input][item..item + 1];
        debug_assert!(shared[0].item as usize == item && shared[0].input as usize == input);
        return shared;
    }
    arena.alloc_slice_copy(&[PairedItem {
        item: item as u32,
        input: input as u32,
    }])
}

/// Whether `items` already carry the lineage [`single_lineage`] would give them: item `i`
/// points at item `i` of input `input` and nothing else.
pub fn has_own_lineage(items: &[Item<'_>], input: usize) -> bool {
    items.iter().enumerate().all(|(i, item)| {
        matches!(item.paired, [only] if only.item as usize == i && only.input as usize == input)
    })
}

/// One item on a node output.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    /// The item's `json` (an object in every item a node emits).
    pub json: Value<'a>,
    /// The item's `binary` map (`Undefined` when the item has none).
    pub binary: Value<'a>,
    /// Lineage: which input items this item came from (n8n `pairedItem`). Empty for
    /// trigger output. Used to resolve `$('Node').item`.
    pub paired: &'a [PairedItem],
}

/// A reference to an input item of the node that produced an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PairedItem {
    /// Index of the item on that input.
    pub item: u32,
    /// Input index (0 for single-input nodes).
    pub input: u32,
}

impl<'a> Item<'a> {
    /// An item with `json` only and no lineage.
    pub fn new(json: Value<'a>) -> Self {
        Item {
            json,
            binary: Value::Undefined,
            paired: &[],
        }
    }
}
