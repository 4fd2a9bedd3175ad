//! Typed, pre-parsed parameters for the node kinds on the webhook hot path (Set 3.3+,
//! If/Filter 2+, Respond to Webhook).
//!
//! Why: the generic node implementations read their parameter tree per item — dotted-path
//! look-ups, string compares of `"manual"`, `"number"`, `"gt"` — which cost more than the
//! work itself on small workflows. The compiler recognises the common, simple shapes of
//! these parameters once and stores them as enums and slots; the engine runs them without
//! touching the tree.
//!
//! The contract with the engine: a typed form is **only an accelerator**. It is produced
//! only when every parameter that the generic implementation reads has a shape the typed
//! form captures exactly (no expression where the tree walker would evaluate one, no
//! unknown option), and the engine falls back to the generic implementation for any value
//! that does not fit at run time (a type conversion that would fail, an unexpected type).
//! The parameter tree stays in the plan, so both paths always see the same parameters.

use super::types::{NodeKind, PValue};

/// Longest list of assignments or conditions a typed form keeps (larger ones use the
/// generic path). Why: bounds the per-node work the typed path promises to be cheap.
pub const TYPED_ENTRIES_MAX: usize = 64;

/// A node's pre-parsed parameters, when its kind and shape allow.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub enum FastParams {
    /// No typed form: the node reads its parameter tree.
    None,
    /// Set v3.3+ in manual mode with static field names.
    Set(FastSet),
    /// If v2+ / Filter v2+ conditions of the common operator types.
    Filter(FastFilter),
    /// Respond to Webhook answering JSON with a constant status and no extra headers.
    Respond(FastRespond),
}

/// Set v3.3+ (`mode: manual`, `assignments.assignments`).
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub struct FastSet {
    /// `includeOtherFields: true` with `include: all`: the input json is the base object;
    /// otherwise the output has the assigned fields only.
    pub include_input: bool,
    /// The assignments in order.
    pub assignments: Vec<FastAssignment>,
}

/// One Set assignment with a static name (no `.`/`[` path syntax).
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub struct FastAssignment {
    /// Field name.
    pub name: String,
    /// Declared type.
    pub field_type: FieldType,
    /// The value: a constant or a compiled expression ([`PValue::Expr`]).
    pub value: PValue,
}

/// The declared type of a Set assignment.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum FieldType {
    /// `string`.
    String,
    /// `number`.
    Number,
    /// `boolean`.
    Boolean,
    /// `array`.
    Array,
    /// `object`.
    Object,
}

/// The filter parameter of If v2+ / Filter v2+.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub struct FastFilter {
    /// `combinator: or` (any condition passes); otherwise every condition must pass.
    pub any: bool,
    /// `options.caseSensitive` (default true).
    pub case_sensitive: bool,
    /// `options.typeValidation` is not `loose`.
    pub strict: bool,
    /// The conditions in order.
    pub conditions: Vec<FastCondition>,
}

/// One condition: `left <op> right`.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub struct FastCondition {
    /// `leftValue` (constant or expression).
    pub left: PValue,
    /// `rightValue` (constant or expression).
    pub right: PValue,
    /// The operator.
    pub op: FastOp,
    /// `operator.singleValue`: the operation ignores the right value, so a right value
    /// of the wrong type is not an error.
    pub single_value: bool,
}

/// The operators the typed path evaluates (type + operation of n8n's filter).
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum FastOp {
    /// A number comparison.
    Number(Compare),
    /// A string operation.
    String(StringOp),
    /// `boolean: true`.
    True,
    /// `boolean: false`.
    False,
    /// `boolean: equals`.
    BoolEquals,
    /// `boolean: notEquals`.
    BoolNotEquals,
}

/// A number comparison.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum Compare {
    /// `equals`.
    Equals,
    /// `notEquals`.
    NotEquals,
    /// `gt`.
    Gt,
    /// `lt`.
    Lt,
    /// `gte`.
    Gte,
    /// `lte`.
    Lte,
}

/// A string operation (regular expressions stay on the generic path).
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum StringOp {
    /// `empty`.
    Empty,
    /// `notEmpty`.
    NotEmpty,
    /// `equals`.
    Equals,
    /// `notEquals`.
    NotEquals,
    /// `contains`.
    Contains,
    /// `notContains`.
    NotContains,
    /// `startsWith`.
    StartsWith,
    /// `notStartsWith`.
    NotStartsWith,
    /// `endsWith`.
    EndsWith,
    /// `notEndsWith`.
    NotEndsWith,
}

/// Respond to Webhook with JSON data.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, PartialEq)]
#[rkyv(attr(allow(missing_docs)))]
pub struct FastRespond {
    /// What is sent.
    pub with: RespondWith,
    /// `options.responseCode` (200 by default).
    pub status: u16,
    /// `responseBody` for [`RespondWith::Json`] ([`PValue::Null`] when absent).
    pub body: PValue,
}

/// `respondWith` values the typed path serves.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[rkyv(attr(allow(missing_docs)))]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq))]
pub enum RespondWith {
    /// `json`: the `responseBody` value.
    Json,
    /// `firstIncomingItem`: the first input item's json.
    FirstIncomingItem,
    /// `allIncomingItems`: every input item's json as an array.
    AllIncomingItems,
}

/// The typed form of a node's parameters, or [`FastParams::None`].
pub fn fast_params(kind: NodeKind, version: f64, params: &PValue) -> FastParams {
    let typed = match kind {
        NodeKind::Set if version >= 3.3 => fast_set(params).map(FastParams::Set),
        NodeKind::If | NodeKind::Filter if version >= 2.0 => {
            fast_filter(params).map(FastParams::Filter)
        }
        NodeKind::RespondToWebhook => fast_respond(params).map(FastParams::Respond),
        _ => None,
    };
    typed.unwrap_or(FastParams::None)
}

/// Member `key` of an object parameter.
fn member<'p>(value: &'p PValue, key: &str) -> Option<&'p PValue> {
    match value {
        PValue::Object { keys, values } => keys.iter().position(|k| k == key).map(|i| &values[i]),
        _ => None,
    }
}

/// The object's member names, or `None` for a non-object.
fn member_names(value: &PValue) -> Option<&[String]> {
    match value {
        PValue::Object { keys, .. } => Some(keys),
        _ => None,
    }
}

/// A constant string member (`None` when absent; `Err` when present but not a string).
fn const_str<'p>(value: &'p PValue, key: &str) -> Result<Option<&'p str>, ()> {
    match member(value, key) {
        None => Ok(None),
        Some(PValue::String(s)) => Ok(Some(s)),
        Some(_) => Err(()),
    }
}

/// A constant boolean member (`None` when absent; `Err` when present but not a boolean:
/// the generic path then decides, e.g. for an expression).
fn const_bool(value: &PValue, key: &str) -> Result<Option<bool>, ()> {
    match member(value, key) {
        None => Ok(None),
        Some(PValue::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(()),
    }
}

/// A value the engine can resolve without walking a tree: a scalar or an expression.
fn is_leaf(value: &PValue) -> bool {
    !matches!(value, PValue::Array(_) | PValue::Object { .. })
}

fn fast_set(params: &PValue) -> Option<FastSet> {
    // Parameters the generic Set v3.3+ reads: mode, options.{dotNotation,
    // ignoreConversionErrors}, includeOtherFields, include, assignments.assignments.
    if !matches!(const_str(params, "mode").ok()?, None | Some("manual")) {
        return None;
    }
    if let Some(options) = member(params, "options") {
        // Options the generic path does not read do not change the result; the two it
        // reads must be constants (names below never need dot notation, and a failed
        // conversion falls back to the generic path whatever ignoreConversionErrors says).
        member_names(options)?;
        const_bool(options, "dotNotation").ok()?;
        const_bool(options, "ignoreConversionErrors").ok()?;
    }
    let include_input = match const_bool(params, "includeOtherFields").ok()? {
        Some(true) => match const_str(params, "include").ok()? {
            None | Some("all") => true,
            Some(_) => return None,
        },
        _ => false,
    };
    let entries = match member(params, "assignments").and_then(|a| member(a, "assignments")) {
        Some(PValue::Array(entries)) => entries.as_slice(),
        Some(_) => return None,
        None => &[],
    };
    if entries.len() > TYPED_ENTRIES_MAX {
        return None;
    }
    let mut assignments = Vec::with_capacity(entries.len());
    for entry in entries {
        let name = match member(entry, "name") {
            Some(PValue::String(name)) => name.clone(),
            _ => return None,
        };
        // Dot notation and bracket paths stay on the generic path.
        if name.is_empty() || name.contains(['.', '[', ']']) {
            return None;
        }
        let type_name = match member(entry, "type") {
            None => "string",
            Some(PValue::String(t)) => t.as_str(),
            Some(_) => return None,
        };
        let field_type = match type_name {
            "string" => FieldType::String,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "array" => FieldType::Array,
            "object" => FieldType::Object,
            _ => return None,
        };
        let value = match member(entry, "value") {
            Some(value) if is_leaf(value) => value.clone(),
            // A missing value is `undefined`, which the generic path turns into null.
            None => PValue::Null,
            Some(_) => return None,
        };
        assignments.push(FastAssignment {
            name,
            field_type,
            value,
        });
    }
    Some(FastSet {
        include_input,
        assignments,
    })
}

fn fast_filter(params: &PValue) -> Option<FastFilter> {
    let filter = member(params, "conditions")?;
    // Without `options` the generic path raises n8n's TypeError: keep that there.
    let options = member(filter, "options")?;
    member_names(options)?;
    let case_sensitive = !matches!(member(options, "caseSensitive"), Some(PValue::Bool(false)));
    let strict =
        !matches!(member(options, "typeValidation"), Some(PValue::String(s)) if s == "loose");
    let any = match member(filter, "combinator") {
        Some(PValue::String(s)) => s == "or",
        Some(_) | None => false,
    };
    let conditions = match member(filter, "conditions") {
        Some(PValue::Array(conditions)) => conditions,
        _ => return None,
    };
    if conditions.len() > TYPED_ENTRIES_MAX {
        return None;
    }
    let mut out = Vec::with_capacity(conditions.len());
    for condition in conditions {
        let operator = member(condition, "operator")?;
        let op_type = const_str(operator, "type").ok()?.unwrap_or("string");
        let operation = const_str(operator, "operation").ok()?.unwrap_or("equals");
        // A right type different from the left one needs the generic conversions.
        if const_str(operator, "rightType")
            .ok()?
            .is_some_and(|t| t != op_type)
        {
            return None;
        }
        let op = fast_op(op_type, operation)?;
        // Case-insensitive compares lower-case both sides: the generic path does that.
        if !case_sensitive && matches!(op, FastOp::String(_)) {
            return None;
        }
        let single_value = match member(operator, "singleValue") {
            None => false,
            Some(PValue::Bool(b)) => *b,
            Some(_) => return None,
        };
        // An absent side is `undefined` for the generic path, which no constant here can
        // express (`undefined === null` is false): such conditions stay generic.
        let side = |key: &str| match member(condition, key) {
            Some(value) if is_leaf(value) => Some(value.clone()),
            _ => None,
        };
        let (left, right) = (side("leftValue")?, side("rightValue")?);
        out.push(FastCondition {
            left,
            right,
            op,
            single_value,
        });
    }
    Some(FastFilter {
        any,
        case_sensitive,
        strict,
        conditions: out,
    })
}

/// The typed operator; `exists`/`notExists` (which depend on the declared type's
/// validation) and regex, array, object and date operations stay generic.
fn fast_op(op_type: &str, operation: &str) -> Option<FastOp> {
    Some(match op_type {
        "number" => FastOp::Number(match operation {
            "equals" => Compare::Equals,
            "notEquals" => Compare::NotEquals,
            "gt" => Compare::Gt,
            "lt" => Compare::Lt,
            "gte" => Compare::Gte,
            "lte" => Compare::Lte,
            _ => return None,
        }),
        "string" => FastOp::String(match operation {
            "empty" => StringOp::Empty,
            "notEmpty" => StringOp::NotEmpty,
            "equals" => StringOp::Equals,
            "notEquals" => StringOp::NotEquals,
            "contains" => StringOp::Contains,
            "notContains" => StringOp::NotContains,
            "startsWith" => StringOp::StartsWith,
            "notStartsWith" => StringOp::NotStartsWith,
            "endsWith" => StringOp::EndsWith,
            "notEndsWith" => StringOp::NotEndsWith,
            _ => return None,
        }),
        "boolean" => match operation {
            "true" => FastOp::True,
            "false" => FastOp::False,
            "equals" => FastOp::BoolEquals,
            "notEquals" => FastOp::BoolNotEquals,
            _ => return None,
        },
        _ => return None,
    })
}

fn fast_respond(params: &PValue) -> Option<FastRespond> {
    let with = match const_str(params, "respondWith").ok()? {
        None | Some("firstIncomingItem") => RespondWith::FirstIncomingItem,
        Some("allIncomingItems") => RespondWith::AllIncomingItems,
        Some("json") => RespondWith::Json,
        Some(_) => return None,
    };
    let mut status = 200u16;
    if let Some(options) = member(params, "options") {
        // Only a constant response code; keys, headers and other options stay generic.
        for key in member_names(options)? {
            match key.as_str() {
                "responseCode" => match member(options, key) {
                    Some(PValue::Number(n)) if n.fract() == 0.0 && (100.0..=599.0).contains(n) => {
                        status = *n as u16
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }
    let body = match (with, member(params, "responseBody")) {
        (RespondWith::Json, Some(body @ PValue::Expr(_))) => body.clone(),
        // A constant JSON text is parsed by the generic path.
        (RespondWith::Json, _) => return None,
        _ => PValue::Null,
    };
    Some(FastRespond { with, status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(members: Vec<(&str, PValue)>) -> PValue {
        let (keys, values) = members.into_iter().map(|(k, v)| (k.to_owned(), v)).unzip();
        PValue::Object { keys, values }
    }

    fn s(text: &str) -> PValue {
        PValue::String(text.to_owned())
    }

    #[test]
    fn set_with_static_names_is_typed_and_dotted_names_are_not() {
        let assignment = |name: &str| {
            obj(vec![
                ("id", s("x")),
                ("name", s(name)),
                ("value", PValue::Expr(3)),
                ("type", s("number")),
            ])
        };
        let params = |name: &str| {
            obj(vec![
                ("mode", s("manual")),
                ("includeOtherFields", PValue::Bool(true)),
                ("options", obj(vec![])),
                (
                    "assignments",
                    obj(vec![("assignments", PValue::Array(vec![assignment(name)]))]),
                ),
            ])
        };
        let FastParams::Set(set) = fast_params(NodeKind::Set, 3.4, &params("b")) else {
            panic!("typed Set expected");
        };
        assert!(set.include_input);
        assert_eq!(set.assignments[0].field_type, FieldType::Number);
        assert_eq!(set.assignments[0].value, PValue::Expr(3));
        assert_eq!(
            fast_params(NodeKind::Set, 3.4, &params("a.b")),
            FastParams::None
        );
        assert_eq!(
            fast_params(NodeKind::Set, 3.2, &params("b")),
            FastParams::None
        );
    }

    #[test]
    fn filter_without_options_or_with_regex_stays_generic() {
        let condition = |operation: &str| {
            obj(vec![
                ("leftValue", PValue::Expr(0)),
                ("rightValue", PValue::Number(10.0)),
                (
                    "operator",
                    obj(vec![("type", s("number")), ("operation", s(operation))]),
                ),
            ])
        };
        let params = |options: Option<PValue>, operation: &str| {
            let mut members = vec![
                ("combinator", s("and")),
                ("conditions", PValue::Array(vec![condition(operation)])),
            ];
            if let Some(options) = options {
                members.push(("options", options));
            }
            obj(vec![("conditions", obj(members))])
        };
        let typed = fast_params(NodeKind::If, 2.2, &params(Some(obj(vec![])), "gt"));
        let FastParams::Filter(filter) = typed else {
            panic!("typed filter expected");
        };
        assert!(!filter.any && filter.strict && filter.case_sensitive);
        assert_eq!(filter.conditions[0].op, FastOp::Number(Compare::Gt));
        assert_eq!(
            fast_params(NodeKind::If, 2.2, &params(None, "gt")),
            FastParams::None
        );
        assert_eq!(
            fast_params(NodeKind::If, 2.2, &params(Some(obj(vec![])), "regex")),
            FastParams::None
        );
    }

    #[test]
    fn respond_json_with_constant_code_is_typed_but_headers_are_not() {
        let params = |options: PValue| {
            obj(vec![
                ("respondWith", s("json")),
                ("responseBody", PValue::Expr(1)),
                ("options", options),
            ])
        };
        let FastParams::Respond(respond) = fast_params(
            NodeKind::RespondToWebhook,
            1.5,
            &params(obj(vec![("responseCode", PValue::Number(201.0))])),
        ) else {
            panic!("typed respond expected");
        };
        assert_eq!((respond.with, respond.status), (RespondWith::Json, 201));
        assert_eq!(
            fast_params(
                NodeKind::RespondToWebhook,
                1.5,
                &params(obj(vec![("responseHeaders", obj(vec![]))]))
            ),
            FastParams::None
        );
    }
}
