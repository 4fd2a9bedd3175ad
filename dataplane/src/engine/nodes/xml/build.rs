//! JSON -> XML text the way n8n's XML node gets it from xml2js's `Builder` (xmlbuilder,
//! pretty-printed with two-space indents and `\n`, an XML declaration unless headless).
//!
//! Shape rules (xml2js `buildObject`): an object with exactly one member and the default
//! root name uses that member as the root element; otherwise the root is `rootName`.
//! Members named by the attribute key (`$`) become attributes, the text key (`_`) text;
//! a list member repeats its element; `null`/missing become empty elements; numbers and
//! booleans are written as JavaScript's `String(x)`.

use super::parse::XML_DEPTH_MAX;
use crate::engine::nodes::coerce::string_of;
use crate::engine::value::Value;

/// xml2js builder options that n8n exposes.
#[derive(Debug, Clone)]
pub struct BuildOptions<'p> {
    /// Attribute object key (`$`).
    pub attr_key: &'p str,
    /// Text key (`_`).
    pub char_key: &'p str,
    /// Wrap text that needs escaping in CDATA instead.
    pub cdata: bool,
    /// Omit the XML declaration.
    pub headless: bool,
    /// Root element name when the object does not name one (`root`).
    pub root_name: &'p str,
}

impl Default for BuildOptions<'_> {
    fn default() -> Self {
        BuildOptions {
            attr_key: "$",
            char_key: "_",
            cdata: false,
            headless: false,
            root_name: "root",
        }
    }
}

const DEFAULT_ROOT: &str = "root";
const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;

/// An element under construction (xmlbuilder's tree, reduced to what the writer needs).
#[derive(Debug, Default)]
struct Element {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Child>,
}

#[derive(Debug)]
enum Child {
    Element(Element),
    Text(String),
    Raw(String),
}

/// Builds the XML text for `root`.
pub fn build(root: Value<'_>, options: &BuildOptions<'_>) -> String {
    let (name, body) = match root.as_object() {
        Some([(key, value)]) if options.root_name == DEFAULT_ROOT => ((*key).to_owned(), *value),
        _ => (options.root_name.to_owned(), root),
    };
    let mut element = Element {
        name,
        ..Element::default()
    };
    render(&mut element, body, options, 0);
    let mut out = String::new();
    if !options.headless {
        out.push_str(DECLARATION);
        out.push('\n');
    }
    write_element(&element, 0, &mut out);
    out
}

fn child_element(name: &str) -> Element {
    Element {
        name: name.to_owned(),
        ..Element::default()
    }
}

fn requires_cdata(text: &str) -> bool {
    text.contains(['&', '<', '>'])
}

fn cdata(text: &str) -> String {
    // xml2js splits only the first `]]>` (JavaScript's `replace` with a string).
    format!("<![CDATA[{}]]>", text.replacen("]]>", "]]]]><![CDATA[>", 1))
}

fn push_text(element: &mut Element, text: String, options: &BuildOptions<'_>) {
    if options.cdata && requires_cdata(&text) {
        element.children.push(Child::Raw(cdata(&text)));
    } else {
        element.children.push(Child::Text(text));
    }
}

fn render(element: &mut Element, value: Value<'_>, options: &BuildOptions<'_>, depth: usize) {
    if depth > XML_DEPTH_MAX {
        // Values nest far less deeply than this in practice; the bound keeps the
        // recursion finite for hostile input.
        return;
    }
    match value {
        Value::Object(members) => {
            for &(key, child) in members {
                if key == options.attr_key {
                    for &(attr, v) in child.as_object().unwrap_or(&[]) {
                        element.attributes.push((attr.to_owned(), string_of(v)));
                    }
                } else if key == options.char_key {
                    push_text(element, string_of(child), options);
                } else if let Value::Array(entries) = child {
                    for &entry in entries {
                        let mut sub = child_element(key);
                        match entry {
                            Value::String(s) => push_text(&mut sub, s.to_owned(), options),
                            other => render(&mut sub, other, options, depth + 1),
                        }
                        element.children.push(Child::Element(sub));
                    }
                } else {
                    let mut sub = child_element(key);
                    match child {
                        // `typeof null === "object"`: an empty element.
                        Value::Null | Value::Object(_) => {
                            render(&mut sub, child, options, depth + 1)
                        }
                        Value::Undefined => {}
                        other => push_text(&mut sub, string_of(other), options),
                    }
                    element.children.push(Child::Element(sub));
                }
            }
        }
        Value::Array(entries) => {
            // Each entry's members become child elements of this element.
            for &entry in entries {
                for &(key, child) in entry.as_object().unwrap_or(&[]) {
                    let mut sub = child_element(key);
                    render(&mut sub, child, options, depth + 1);
                    element.children.push(Child::Element(sub));
                }
            }
        }
        Value::Null | Value::Undefined => {}
        other => push_text(element, string_of(other), options),
    }
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attribute(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn indent(level: usize, out: &mut String) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

/// xmlbuilder's pretty writer: an element with no content (or only empty text) is
/// self-closed, one with a single text child stays on one line, anything else puts each
/// child on its own indented line.
fn write_element(element: &Element, level: usize, out: &mut String) {
    indent(level, out);
    out.push('<');
    out.push_str(&element.name);
    for (key, value) in &element.attributes {
        out.push(' ');
        out.push_str(key);
        out.push_str("=\"");
        escape_attribute(value, out);
        out.push('"');
    }
    let empty = element.children.iter().all(|c| match c {
        Child::Text(t) | Child::Raw(t) => t.is_empty(),
        Child::Element(_) => false,
    });
    if empty {
        out.push_str("/>");
        return;
    }
    out.push('>');
    match element.children.as_slice() {
        [Child::Text(text)] => escape_text(text, out),
        [Child::Raw(raw)] => out.push_str(raw),
        children => {
            for child in children {
                out.push('\n');
                match child {
                    Child::Element(e) => write_element(e, level + 1, out),
                    Child::Text(text) => {
                        indent(level + 1, out);
                        escape_text(text, out);
                    }
                    Child::Raw(raw) => {
                        indent(level + 1, out);
                        out.push_str(raw);
                    }
                }
            }
            out.push('\n');
            indent(level, out);
        }
    }
    out.push_str("</");
    out.push_str(&element.name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_member_objects_name_the_root() {
        let members = [
            ("name", Value::String("Zoë & co")),
            ("n", Value::Number(1.5)),
        ];
        let inner = Value::Object(&members);
        let root = [("person", inner)];
        assert_eq!(
            build(Value::Object(&root), &BuildOptions::default()),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<person>\n  <name>Zoë &amp; co</name>\n  <n>1.5</n>\n</person>"
        );
    }

    #[test]
    fn several_members_use_root_name_and_lists_repeat() {
        let list = [Value::String("a"), Value::Number(2.0)];
        let attrs = [("id", Value::String("x\"y"))];
        let members = [
            ("$", Value::Object(&attrs)),
            ("tag", Value::Array(&list)),
            ("nothing", Value::Null),
            ("flag", Value::Bool(true)),
        ];
        let options = BuildOptions {
            headless: true,
            ..BuildOptions::default()
        };
        assert_eq!(
            build(Value::Object(&members), &options),
            "<root id=\"x&quot;y\">\n  <tag>a</tag>\n  <tag>2</tag>\n  <nothing/>\n  <flag>true</flag>\n</root>"
        );
    }

    #[test]
    fn cdata_wraps_only_text_that_needs_escaping() {
        let members = [("a", Value::String("1 < 2")), ("b", Value::String("plain"))];
        let options = BuildOptions {
            headless: true,
            cdata: true,
            ..BuildOptions::default()
        };
        assert_eq!(
            build(Value::Object(&members), &options),
            "<root>\n  <a><![CDATA[1 < 2]]></a>\n  <b>plain</b>\n</root>"
        );
    }

    #[test]
    fn empty_object_is_a_self_closed_root() {
        let options = BuildOptions {
            headless: true,
            ..BuildOptions::default()
        };
        assert_eq!(build(Value::EMPTY_OBJECT, &options), "<root/>");
    }
}
