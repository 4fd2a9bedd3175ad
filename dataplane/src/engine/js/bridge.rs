//! The value bridge: arena [`Value`]s to JavaScript values and back, with JSON semantics.
//!
//! Key order is kept (JavaScript's own rule applies inside QuickJS: integer-like keys
//! first, as in n8n). `-0` stays `-0` on the way in and out; `NaN`/`Infinity` cross as
//! numbers (the JSON printer turns them into `null`). Results go through `toJSON` when an
//! object has one (Luxon `DateTime`, `Date`), as `JSON.stringify` would. Both directions
//! are bounded by [`JS_VALUE_DEPTH_MAX`] so a cyclic or absurdly deep structure is an
//! error value, not a stack overflow.

use bumpalo::Bump;
use rquickjs::{Array, Ctx, Function, Object, Type, Value as JsValue};

use super::error::{JsError, JsErrorKind};
use crate::engine::value::Value;

/// Deepest nesting converted in either direction (arrays/objects inside each other).
pub const JS_VALUE_DEPTH_MAX: usize = 128;

/// Converts an arena value into a JavaScript value.
pub(crate) fn to_js<'js>(ctx: &Ctx<'js>, value: Value<'_>) -> rquickjs::Result<JsValue<'js>> {
    to_js_at(ctx, value, 0)
}

fn to_js_at<'js>(ctx: &Ctx<'js>, value: Value<'_>, depth: usize) -> rquickjs::Result<JsValue<'js>> {
    if depth > JS_VALUE_DEPTH_MAX {
        return Err(rquickjs::Exception::throw_range(
            ctx,
            "LF-JS-006: value nested too deeply",
        ));
    }
    Ok(match value {
        Value::Undefined => JsValue::new_undefined(ctx.clone()),
        Value::Null => JsValue::new_null(ctx.clone()),
        Value::Bool(b) => JsValue::new_bool(ctx.clone(), b),
        Value::Number(n) => number(ctx, n),
        Value::String(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        Value::Array(items) => {
            let array = Array::new(ctx.clone())?;
            for (i, item) in items.iter().enumerate() {
                array.set(i, to_js_at(ctx, *item, depth + 1)?)?;
            }
            array.into_value()
        }
        Value::Object(members) => {
            let object = Object::new(ctx.clone())?;
            for (key, member) in members {
                object.set(*key, to_js_at(ctx, *member, depth + 1)?)?;
            }
            object.into_value()
        }
    })
}

/// A JavaScript number; `-0` is kept as a float (QuickJS's int tag has no negative zero).
pub(crate) fn number<'js>(ctx: &Ctx<'js>, n: f64) -> JsValue<'js> {
    if n == 0.0 && n.is_sign_negative() {
        JsValue::new_float(ctx.clone(), n)
    } else {
        JsValue::new_number(ctx.clone(), n)
    }
}

/// Converts a JavaScript value into an arena value with `JSON.stringify` semantics for
/// what JSON cannot hold: functions and symbols become `undefined`, objects with `toJSON`
/// are replaced by its result.
pub(crate) fn from_js<'a, 'js>(
    ctx: &Ctx<'js>,
    arena: &'a Bump,
    value: &JsValue<'js>,
) -> Result<Value<'a>, JsError> {
    from_js_at(ctx, arena, value, 0)
}

fn from_js_at<'a, 'js>(
    ctx: &Ctx<'js>,
    arena: &'a Bump,
    value: &JsValue<'js>,
    depth: usize,
) -> Result<Value<'a>, JsError> {
    if depth > JS_VALUE_DEPTH_MAX {
        return Err(JsError::new(
            JsErrorKind::Result,
            format!("result nested deeper than {JS_VALUE_DEPTH_MAX} levels (or cyclic)"),
        ));
    }
    Ok(match value.type_of() {
        Type::Uninitialized | Type::Undefined => Value::Undefined,
        Type::Null => Value::Null,
        Type::Bool => Value::Bool(value.as_bool().unwrap_or(false)),
        Type::Int => Value::Number(f64::from(value.as_int().unwrap_or(0))),
        Type::Float => Value::Number(value.as_float().unwrap_or(f64::NAN)),
        Type::String => {
            let string = value.as_string().ok_or_else(|| conversion("string"))?;
            Value::String(arena.alloc_str(&js_string(ctx, string)?))
        }
        Type::Array => {
            let array = value.as_array().ok_or_else(|| conversion("array"))?;
            let mut items = bumpalo::collections::Vec::with_capacity_in(array.len(), arena);
            for i in 0..array.len() {
                let item: JsValue = array.get(i).map_err(|e| engine(ctx, e))?;
                // JSON.stringify prints `undefined`, functions and symbols in arrays as null.
                let converted = match from_js_at(ctx, arena, &item, depth + 1)? {
                    Value::Undefined => Value::Null,
                    v => v,
                };
                items.push(converted);
            }
            Value::Array(items.into_bump_slice())
        }
        Type::Object | Type::Exception | Type::Promise | Type::Proxy => {
            let object = value.as_object().ok_or_else(|| conversion("object"))?;
            if let Ok(to_json) = object.get::<_, Function>("toJSON") {
                let replaced: JsValue = to_json
                    .call((rquickjs::function::This(object.clone()),))
                    .map_err(|e| engine(ctx, e))?;
                return from_js_at(ctx, arena, &replaced, depth + 1);
            }
            let mut members = bumpalo::collections::Vec::new_in(arena);
            for prop in object.props::<rquickjs::String, JsValue>() {
                let (key, member) = prop.map_err(|e| engine(ctx, e))?;
                let member = from_js_at(ctx, arena, &member, depth + 1)?;
                if matches!(member, Value::Undefined) {
                    continue;
                }
                let key = arena.alloc_str(&js_string(ctx, &key)?);
                members.push((&*key, member));
            }
            Value::Object(members.into_bump_slice())
        }
        Type::BigInt => {
            return Err(JsError::new(
                JsErrorKind::Result,
                "Do not know how to serialize a BigInt",
            ))
        }
        Type::Function | Type::Constructor | Type::Symbol | Type::Module | Type::Unknown => {
            Value::Undefined
        }
    })
}

/// A JavaScript string as UTF-8. Lone surrogates (legal in JavaScript, not in UTF-8)
/// become U+FFFD, as `String.prototype.toWellFormed` does.
pub(crate) fn js_string<'js>(
    ctx: &Ctx<'js>,
    string: &rquickjs::String<'js>,
) -> Result<String, JsError> {
    match string.to_string() {
        Ok(s) => Ok(s),
        Err(_) => {
            let well_formed: Function = ctx
                .globals()
                .get::<_, Object>("__lfN")
                .and_then(|natives| natives.get("wellFormed"))
                .map_err(|e| engine(ctx, e))?;
            let fixed: rquickjs::String = well_formed
                .call((string.clone(),))
                .map_err(|e| engine(ctx, e))?;
            fixed.to_string().map_err(|e| engine(ctx, e))
        }
    }
}

fn conversion(what: &str) -> JsError {
    JsError::new(
        JsErrorKind::Result,
        format!("cannot read JavaScript {what}"),
    )
}

/// An rquickjs error met while converting (a getter threw, memory ran out ...).
pub(crate) fn engine(ctx: &Ctx<'_>, error: rquickjs::Error) -> JsError {
    if error.is_exception() {
        let thrown = ctx.catch();
        let message = thrown
            .as_object()
            .and_then(|o| o.get::<_, String>("message").ok())
            .unwrap_or_else(|| format!("{thrown:?}"));
        return JsError::new(JsErrorKind::Thrown, message);
    }
    JsError::new(JsErrorKind::Result, error.to_string())
}
