//! XML text -> JSON the way n8n's XML node gets it from xml2js (over a strict sax parser).
//!
//! The tree rules that decide the output shape:
//! - every element starts as an object whose first member is the text key (`_`), then its
//!   attributes (merged as members with `mergeAttrs`, else under the attribute key `$`),
//!   then its child elements in document order;
//! - a repeated member name turns into a list (`explicitArray: false`), or every member is
//!   a list from the start (`explicitArray: true`);
//! - on close, text that is only whitespace is dropped (unless it came from CDATA); an
//!   object left with nothing but its text becomes that string; an object left empty
//!   becomes the (whitespace) text it had, usually `""`;
//! - the root is wrapped as `{rootName: value}` unless `explicitRoot` is off.
//!
//! The tokenizer is written for this shape only: elements, attributes, text, the five
//! predefined entities and character references, CDATA, comments, processing instructions
//! and a DOCTYPE without an internal subset. Malformed input is an error, never a panic;
//! nesting is bounded by [`XML_DEPTH_MAX`].

/// Deepest element nesting accepted (recursion in the converters is bounded by it).
pub const XML_DEPTH_MAX: usize = 512;

/// xml2js parser options that n8n exposes.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Attribute object key when attributes are not merged (`$`).
    pub attr_key: String,
    /// Text key (`_`).
    pub char_key: String,
    /// Every child in a list.
    pub explicit_array: bool,
    /// Wrap the result in `{rootName: ...}`.
    pub explicit_root: bool,
    /// Drop attributes.
    pub ignore_attrs: bool,
    /// Attributes become members of the element object.
    pub merge_attrs: bool,
    /// Collapse whitespace runs in text and trim it.
    pub normalize: bool,
    /// Lower-case tag names.
    pub normalize_tags: bool,
    /// Trim text.
    pub trim: bool,
}

impl Default for ParseOptions {
    /// n8n's defaults (xml2js's, with `mergeAttrs: true` and `explicitArray: false`).
    fn default() -> Self {
        ParseOptions {
            attr_key: "$".to_owned(),
            char_key: "_".to_owned(),
            explicit_array: false,
            explicit_root: true,
            ignore_attrs: false,
            merge_attrs: true,
            normalize: false,
            normalize_tags: false,
            trim: false,
        }
    }
}

/// A parsed value: the JSON shapes xml2js produces (strings, lists, objects).
#[derive(Debug, Clone, PartialEq)]
pub enum XValue {
    /// Text.
    Str(String),
    /// A repeated member.
    List(Vec<XValue>),
    /// An element or attribute object, members in insertion order.
    Obj(Vec<(String, XValue)>),
}

/// A parse failure with a sax-like message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError(pub String);

struct Frame {
    name: String,
    /// Members after the text key.
    members: Vec<(String, XValue)>,
    text: String,
    cdata: bool,
}

/// Parses `input`; `Ok(None)` for blank input (xml2js answers `null`).
pub fn parse(input: &str, options: &ParseOptions) -> Result<Option<XValue>, XmlError> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    if input.trim().is_empty() {
        return Ok(None);
    }
    let mut parser = Parser {
        src: input,
        pos: 0,
        options,
        stack: Vec::new(),
        result: None,
    };
    parser.run()?;
    Ok(parser.result)
}

struct Parser<'s, 'o> {
    src: &'s str,
    pos: usize,
    options: &'o ParseOptions,
    stack: Vec<Frame>,
    result: Option<XValue>,
}

impl Parser<'_, '_> {
    fn error(&self, what: &str) -> XmlError {
        let line = self.src[..self.pos.min(self.src.len())]
            .matches('\n')
            .count();
        XmlError(format!("{what}\nLine: {line}\nOffset: {}", self.pos))
    }

    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn run(&mut self) -> Result<(), XmlError> {
        while self.pos < self.src.len() {
            if self.rest().starts_with('<') {
                self.markup()?;
            } else {
                let end = self
                    .rest()
                    .find('<')
                    .map_or(self.src.len(), |i| self.pos + i);
                let src = self.src;
                let raw = &src[self.pos..end];
                self.pos = end;
                self.text(raw, false)?;
            }
        }
        if !self.stack.is_empty() {
            return Err(self.error("Unclosed root tag"));
        }
        if self.result.is_none() {
            return Err(self.error("Unexpected end"));
        }
        Ok(())
    }

    fn text(&mut self, raw: &str, cdata: bool) -> Result<(), XmlError> {
        let decoded = if cdata {
            raw.to_owned()
        } else {
            decode_entities(raw).map_err(|e| self.error(&e))?
        };
        match self.stack.last_mut() {
            Some(frame) => {
                frame.text.push_str(&decoded);
                frame.cdata |= cdata;
                Ok(())
            }
            None if decoded.trim().is_empty() => Ok(()),
            None if self.result.is_none() => Err(self.error("Non-whitespace before first tag.")),
            None => Err(self.error("Text data outside of root node.")),
        }
    }

    fn skip_past(&mut self, terminator: &str, what: &str) -> Result<usize, XmlError> {
        match self.rest().find(terminator) {
            Some(i) => {
                let start = self.pos;
                self.pos += i + terminator.len();
                Ok(start)
            }
            None => Err(self.error(what)),
        }
    }

    fn markup(&mut self) -> Result<(), XmlError> {
        let rest = self.rest();
        if rest.starts_with("<!--") {
            self.skip_past("-->", "Unclosed comment")?;
        } else if rest.starts_with("<![CDATA[") {
            self.pos += "<![CDATA[".len();
            let start = self.skip_past("]]>", "Unclosed CDATA")?;
            let src = self.src;
            let body = &src[start..self.pos - 3];
            self.text(body, true)?;
        } else if rest.starts_with("<?") {
            self.skip_past("?>", "Unclosed processing instruction")?;
        } else if rest.starts_with("<!") {
            self.skip_past(">", "Unclosed declaration")?;
        } else if rest.starts_with("</") {
            self.close_tag()?;
        } else {
            self.open_tag()?;
        }
        Ok(())
    }

    fn name(&mut self) -> Result<String, XmlError> {
        let rest = self.rest();
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '>' | '/' | '=' | '<'))
            .unwrap_or(rest.len());
        if end == 0 {
            return Err(self.error("Invalid tagname"));
        }
        let name = rest[..end].to_owned();
        self.pos += end;
        Ok(if self.options.normalize_tags {
            name.to_lowercase()
        } else {
            name
        })
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
    }

    fn open_tag(&mut self) -> Result<(), XmlError> {
        if self.result.is_some() && self.stack.is_empty() {
            return Err(self.error("Text data outside of root node."));
        }
        if self.stack.len() >= XML_DEPTH_MAX {
            return Err(self.error("Elements nested too deeply"));
        }
        self.pos += 1;
        let name = self.name()?;
        let mut frame = Frame {
            name,
            members: Vec::new(),
            text: String::new(),
            cdata: false,
        };
        let mut attributes: Vec<(String, XValue)> = Vec::new();
        loop {
            self.skip_space();
            let rest = self.rest();
            if rest.starts_with("/>") {
                self.pos += 2;
                self.push_attributes(&mut frame, attributes);
                self.stack.push(frame);
                return self.close_current();
            }
            if rest.starts_with('>') {
                self.pos += 1;
                self.push_attributes(&mut frame, attributes);
                self.stack.push(frame);
                return Ok(());
            }
            if rest.is_empty() {
                return Err(self.error("Unclosed tag"));
            }
            let key = self.name()?;
            self.skip_space();
            if !self.rest().starts_with('=') {
                return Err(self.error("Attribute without value"));
            }
            self.pos += 1;
            self.skip_space();
            let quote = match self.rest().chars().next() {
                Some(q @ ('"' | '\'')) => q,
                _ => return Err(self.error("Unquoted attribute value")),
            };
            self.pos += 1;
            let end = self
                .rest()
                .find(quote)
                .ok_or_else(|| self.error("Unclosed attribute value"))?;
            let raw = &self.src[self.pos..self.pos + end];
            self.pos += end + 1;
            let value = decode_entities(raw).map_err(|e| self.error(&e))?;
            attributes.push((key, XValue::Str(value)));
        }
    }

    fn push_attributes(&self, frame: &mut Frame, attributes: Vec<(String, XValue)>) {
        if self.options.ignore_attrs || attributes.is_empty() {
            return;
        }
        if self.options.merge_attrs {
            for (key, value) in attributes {
                assign_or_push(&mut frame.members, key, value, self.options.explicit_array);
            }
        } else {
            frame
                .members
                .push((self.options.attr_key.clone(), XValue::Obj(attributes)));
        }
    }

    fn close_tag(&mut self) -> Result<(), XmlError> {
        self.pos += 2;
        let name = self.name()?;
        self.skip_space();
        if !self.rest().starts_with('>') {
            return Err(self.error("Invalid closing tag"));
        }
        self.pos += 1;
        match self.stack.last() {
            Some(frame) if frame.name == name => self.close_current(),
            Some(frame) => {
                let message = format!("Unexpected close tag\nExpected </{}>", frame.name);
                Err(self.error(&message))
            }
            None => Err(self.error("Unmatched closing tag")),
        }
    }

    fn close_current(&mut self) -> Result<(), XmlError> {
        let Some(frame) = self.stack.pop() else {
            return Err(self.error("Unmatched closing tag"));
        };
        let options = self.options;
        let mut text = frame.text;
        let keep_text = frame.cdata || !text.chars().all(char::is_whitespace);
        let value = if keep_text {
            if options.trim {
                text = text.trim().to_owned();
            }
            if options.normalize {
                text = collapse_whitespace(&text);
            }
            if frame.members.is_empty() {
                XValue::Str(text)
            } else {
                let mut members = Vec::with_capacity(frame.members.len() + 1);
                members.push((options.char_key.clone(), XValue::Str(text)));
                members.extend(frame.members);
                XValue::Obj(members)
            }
        } else if frame.members.is_empty() {
            // An empty element is the whitespace it held (usually "").
            XValue::Str(text)
        } else {
            XValue::Obj(frame.members)
        };
        match self.stack.last_mut() {
            Some(parent) => {
                assign_or_push(
                    &mut parent.members,
                    frame.name,
                    value,
                    options.explicit_array,
                );
            }
            None => {
                self.result = Some(if options.explicit_root {
                    XValue::Obj(vec![(frame.name, value)])
                } else {
                    value
                });
            }
        }
        Ok(())
    }
}

/// xml2js `assignOrPush`: first value as is (or in a list), later ones append to a list.
fn assign_or_push(members: &mut Vec<(String, XValue)>, key: String, value: XValue, explicit: bool) {
    match members.iter_mut().find(|(k, _)| *k == key) {
        None if explicit => members.push((key, XValue::List(vec![value]))),
        None => members.push((key, value)),
        Some((_, XValue::List(list))) => list.push(value),
        Some((_, existing)) => {
            let first = std::mem::replace(existing, XValue::List(Vec::new()));
            *existing = XValue::List(vec![first, value]);
        }
    }
}

/// `text.replace(/\s{2,}/g, " ").trim()`.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars() {
        if c.is_whitespace() {
            run.push(c);
            continue;
        }
        flush_run(&mut out, &mut run);
        out.push(c);
    }
    flush_run(&mut out, &mut run);
    out.trim().to_owned()
}

fn flush_run(out: &mut String, run: &mut String) {
    if run.chars().count() >= 2 {
        out.push(' ');
    } else {
        out.push_str(run);
    }
    run.clear();
}

/// Decodes the predefined entities and character references.
pub fn decode_entities(raw: &str) -> Result<String, String> {
    if !raw.contains('&') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let end = rest
            .find(';')
            .filter(|&e| e <= 10)
            .ok_or_else(|| "Invalid character entity".to_owned())?;
        let entity = &rest[..end];
        rest = &rest[end + 1..];
        let decoded = match entity {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(hex) = entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(decimal) = entity.strip_prefix('#') {
                    decimal.parse::<u32>().ok()
                } else {
                    None
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| "Invalid character entity".to_owned())?
            }
        };
        out.push(decoded);
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(members: &[(&str, XValue)]) -> XValue {
        XValue::Obj(
            members
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    fn s(text: &str) -> XValue {
        XValue::Str(text.to_owned())
    }

    fn defaults(input: &str) -> XValue {
        parse(input, &ParseOptions::default()).unwrap().unwrap()
    }

    #[test]
    fn repeated_children_become_lists_and_attributes_merge() {
        let xml = r#"<?xml version="1.0"?>
<library id="7">
  <book lang="fr">Été</book>
  <book>B &amp; C</book>
  <empty/>
</library>"#;
        assert_eq!(
            defaults(xml),
            obj(&[(
                "library",
                obj(&[
                    ("id", s("7")),
                    (
                        "book",
                        XValue::List(vec![obj(&[("_", s("Été")), ("lang", s("fr"))]), s("B & C")])
                    ),
                    ("empty", s("")),
                ])
            )])
        );
    }

    #[test]
    fn options_change_the_shape() {
        let options = ParseOptions {
            explicit_array: true,
            merge_attrs: false,
            explicit_root: false,
            normalize_tags: true,
            trim: true,
            ..ParseOptions::default()
        };
        let value = parse(r#"<A x="1"><B> hi </B></A>"#, &options)
            .unwrap()
            .unwrap();
        assert_eq!(
            value,
            obj(&[
                ("$", obj(&[("x", s("1"))])),
                ("b", XValue::List(vec![s("hi")]))
            ])
        );
    }

    #[test]
    fn cdata_keeps_whitespace_and_markup() {
        assert_eq!(
            defaults("<a><![CDATA[ <b> ]]></a>"),
            obj(&[("a", s(" <b> "))])
        );
        assert_eq!(defaults("<a>  </a>"), obj(&[("a", s("  "))]));
        assert_eq!(defaults("<a>&#x263A;&#65;</a>"), obj(&[("a", s("☺A"))]));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            "not xml",
            "<a>",
            "<a></b>",
            "<a x=1/>",
            "<a>&bogus;</a>",
            "<a/><b/>",
            "<a",
            "</a>",
            "<a><!-- x</a>",
        ] {
            assert!(parse(bad, &ParseOptions::default()).is_err(), "{bad}");
        }
        assert_eq!(parse("  ", &ParseOptions::default()).unwrap(), None);
        let deep = "<a>".repeat(XML_DEPTH_MAX + 1);
        assert!(parse(&deep, &ParseOptions::default()).is_err());
    }
}
