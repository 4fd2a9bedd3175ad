//! Items: the unit of data flowing between nodes, as in n8n (`{json, binary, pairedItem}`).

use super::value::Value;

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
