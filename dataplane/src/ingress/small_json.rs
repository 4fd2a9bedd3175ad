//! A scalar JSON reader for the common request body: an object or array of plain strings
//! (no escapes), small integers, booleans and nulls. It answers only when its value is
//! the one simd-json and [`super::body`]'s tape conversion give, and declines (`None`)
//! everything else — escapes, fractions, exponents, long or negative-zero numbers, deep
//! nesting, large objects, syntax errors — which then goes to simd-json, errors and all.
//! Why: for a body of a few dozen bytes simd-json's SIMD stages and its tape cost about a
//! thousand instructions, several times this walk.

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;

use crate::engine::value::{unique_empty, Value};

/// Bodies longer than this go to simd-json (its stages pay off on long input).
pub const SMALL_BODY_BYTES_MAX: usize = 4096;
/// Nesting deeper than this goes to simd-json (which bounds it itself).
const DEPTH_MAX: u32 = 64;
/// Integers with more digits go to simd-json: up to this many, an `i64` holds them and
/// `f64` represents them exactly, as simd-json's integer path does.
const INTEGER_DIGITS_MAX: usize = 15;
/// Objects with more members go to simd-json (the conversion's duplicate-key scan is
/// linear up to this many keys).
const MEMBERS_MAX: usize = 32;
/// Room reserved for a non-empty array's items or object's members: most request
/// objects are this small, and growing an empty vector on its first push costs more than
/// the reservation (bounded: bodies are at most [`SMALL_BODY_BYTES_MAX`] bytes).
const ITEMS_RESERVED: usize = 4;

/// The value of `text` (a whole body), or `None` when simd-json must decide.
pub fn read<'a>(arena: &'a Bump, text: &'a str) -> Option<Value<'a>> {
    if text.len() > SMALL_BODY_BYTES_MAX {
        return None;
    }
    let mut reader = Reader {
        arena,
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    reader.skip_space();
    // Top-level scalars are rare bodies: simd-json reads them.
    if !matches!(reader.peek(), Some(b'{' | b'[')) {
        return None;
    }
    let value = reader.value(0)?;
    reader.skip_space();
    (reader.at == reader.bytes.len()).then_some(value)
}

struct Reader<'a> {
    arena: &'a Bump,
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: u32) -> Option<Value<'a>> {
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(Value::String),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8], value: Value<'a>) -> Option<Value<'a>> {
        if !self.bytes[self.at..].starts_with(word) {
            return None;
        }
        self.at += word.len();
        Some(value)
    }

    /// A string without escapes or control characters (the text is valid UTF-8, and `"`
    /// is ASCII, so the slice between the quotes is a `str`).
    fn string(&mut self) -> Option<&'a str> {
        let start = self.at + 1;
        let mut end = start;
        loop {
            match *self.bytes.get(end)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => end += 1,
            }
        }
        self.at = end + 1;
        Some(&self.text[start..end])
    }

    /// An integer of at most [`INTEGER_DIGITS_MAX`] digits, no leading zero, not `-0`;
    /// anything else that starts like a number is simd-json's.
    fn integer(&mut self) -> Option<Value<'a>> {
        let negative = self.peek() == Some(b'-');
        let start = self.at + usize::from(negative);
        let mut end = start;
        let mut n: i64 = 0;
        while let Some(digit @ b'0'..=b'9') = self.bytes.get(end).copied() {
            n = n * 10 + i64::from(digit - b'0');
            end += 1;
            if end - start > INTEGER_DIGITS_MAX {
                return None;
            }
        }
        let digits = end - start;
        if digits == 0
            || (digits > 1 && self.bytes[start] == b'0')
            || (negative && n == 0)
            || matches!(self.bytes.get(end), Some(b'.' | b'e' | b'E'))
        {
            return None;
        }
        self.at = end;
        Some(Value::Number(if negative { -n } else { n } as f64))
    }

    fn array(&mut self, depth: u32) -> Option<Value<'a>> {
        if depth > DEPTH_MAX {
            return None;
        }
        self.at += 1;
        self.skip_space();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(Value::Array(unique_empty(self.arena, Value::Null)));
        }
        let mut items = BumpVec::with_capacity_in(ITEMS_RESERVED, self.arena);
        loop {
            self.skip_space();
            items.push(self.value(depth)?);
            self.skip_space();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => break,
                _ => return None,
            }
        }
        self.at += 1;
        Some(Value::Array(items.into_bump_slice()))
    }

    fn object(&mut self, depth: u32) -> Option<Value<'a>> {
        if depth > DEPTH_MAX {
            return None;
        }
        self.at += 1;
        self.skip_space();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(Value::Object(unique_empty(self.arena, ("", Value::Null))));
        }
        let mut members: BumpVec<'a, (&'a str, Value<'a>)> =
            BumpVec::with_capacity_in(ITEMS_RESERVED, self.arena);
        loop {
            self.skip_space();
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            self.skip_space();
            if self.peek()? != b':' {
                return None;
            }
            self.at += 1;
            self.skip_space();
            let value = self.value(depth)?;
            // JSON.parse keeps the last of duplicate keys, in the first key's position
            // (as the tape conversion does).
            match members.iter().position(|(k, _)| *k == key) {
                Some(i) => members[i].1 = value,
                None if members.len() == MEMBERS_MAX => return None,
                None => members.push((key, value)),
            }
            self.skip_space();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => break,
                _ => return None,
            }
        }
        self.at += 1;
        Some(Value::Object(members.into_bump_slice()))
    }
}

#[cfg(test)]
#[path = "small_json_tests.rs"]
mod tests;
