//! Primary expressions: literals, identifiers, array / object / template literals.

use super::{boxed, global, is_reserved, number_key, root, Parser};
use crate::expr::ast::{Expr, ObjectKey};
use crate::expr::lexer::Tok;
use crate::expr::{ExprError, CODE_SYNTAX, CODE_UNTERMINATED};

impl Parser<'_> {
    pub(super) fn primary(&mut self) -> Result<Expr, ExprError> {
        if matches!(self.peek()?, Tok::Punct("/") | Tok::Punct("/=")) {
            let start = self.peek_start()?;
            self.peeked = None;
            self.lex.pos = start;
            let (pattern, flags) = self.lex.regex()?;
            return Ok(Expr::Regex { pattern, flags });
        }
        let start = self.peek_start()?;
        match self.bump()? {
            Tok::Num(n) => Ok(Expr::Number(n)),
            Tok::Str(s) => Ok(Expr::String(s)),
            Tok::Backtick => self.template_rest(start),
            Tok::Ident(name) => self.identifier(name),
            Tok::Punct("(") => {
                let inner = self.expression()?;
                self.expect(")")?;
                Ok(inner)
            }
            Tok::Punct("[") => self.array(),
            Tok::Punct("{") => self.object(),
            Tok::Eof => Err(self.lex.error(
                CODE_SYNTAX,
                "invalid syntax: unexpected end of expression",
                start,
            )),
            tok => {
                self.lex.pos = start;
                self.peeked = None;
                Err(self.lex.error(
                    CODE_SYNTAX,
                    format!("invalid syntax: unexpected {tok:?}"),
                    start,
                ))
            }
        }
    }

    fn identifier(&mut self, name: String) -> Result<Expr, ExprError> {
        if let Some(slot) = self.locals.iter().rposition(|l| *l == name) {
            return Ok(Expr::Local(slot as u32));
        }
        Ok(match name.as_str() {
            "true" => Expr::Bool(true),
            "false" => Expr::Bool(false),
            "null" => Expr::Null,
            "undefined" => Expr::Undefined,
            "NaN" => Expr::Number(f64::NAN),
            "Infinity" => Expr::Number(f64::INFINITY),
            "function" | "class" => {
                // Skip `function name? (params) { body }` / `class X { ... }` for the JS engine.
                while !self.is_punct("{")? && !matches!(self.peek()?, Tok::Eof) {
                    self.skip_balanced_token(false)?;
                }
                self.skip_balanced_token(false)?;
                Expr::Opaque(name)
            }
            _ => {
                if let Some(r) = root(&name) {
                    Expr::Root(r)
                } else if let Some(g) = global(&name) {
                    Expr::Global(g)
                } else if is_reserved(&name) {
                    return Err(self.lex.error(
                        CODE_SYNTAX,
                        format!("invalid syntax: unexpected keyword `{name}`"),
                        self.lex.pos - name.len(),
                    ));
                } else {
                    Expr::Opaque(format!("identifier {name}"))
                }
            }
        })
    }

    fn array(&mut self) -> Result<Expr, ExprError> {
        let mut items = Vec::new();
        loop {
            if self.eat("]")? {
                return Ok(Expr::Array(items));
            }
            if self.is_punct(",")? {
                // A hole `[a, , b]` reads as undefined.
                self.bump()?;
                items.push(Expr::Undefined);
                continue;
            }
            if self.eat("...")? {
                items.push(Expr::Spread(boxed(self.assignment()?)));
            } else {
                items.push(self.assignment()?);
            }
            if !self.eat(",")? {
                self.expect("]")?;
                return Ok(Expr::Array(items));
            }
        }
    }

    fn object(&mut self) -> Result<Expr, ExprError> {
        let mut keys = Vec::new();
        let mut values = Vec::new();
        let mut opaque = None;
        loop {
            if self.eat("}")? {
                break;
            }
            if self.eat("...")? {
                keys.push(ObjectKey::Spread);
                values.push(self.assignment()?);
            } else {
                let key_start = self.peek_start()?;
                let (key, shorthand_ok) = match self.bump()? {
                    Tok::Ident(name) => (name, true),
                    Tok::Str(s) => (s, false),
                    Tok::Num(n) => (number_key(n), false),
                    Tok::Punct("[") => {
                        let _ = self.assignment()?;
                        self.expect("]")?;
                        opaque = Some("computed property key");
                        (String::new(), false)
                    }
                    _ => {
                        self.lex.pos = key_start;
                        self.peeked = None;
                        return Err(self.lex.error(
                            CODE_SYNTAX,
                            "invalid syntax: expected a property",
                            key_start,
                        ));
                    }
                };
                if self.eat(":")? {
                    values.push(self.assignment()?);
                } else if self.is_punct("(")? {
                    // A method `name() { ... }`: JavaScript-only.
                    self.skip_balanced_token(false)?;
                    self.skip_balanced_token(false)?;
                    opaque = Some("object method");
                    values.push(Expr::Undefined);
                } else if shorthand_ok {
                    values.push(self.identifier(key.clone())?);
                } else {
                    return Err(self.unexpected("expected `:`"));
                }
                keys.push(ObjectKey::Static(key));
            }
            if !self.eat(",")? {
                self.expect("}")?;
                break;
            }
        }
        Ok(match opaque {
            Some(feature) => Expr::Opaque(feature.to_owned()),
            None => Expr::Object { keys, values },
        })
    }

    /// Reads a template literal after its opening backtick (at `start`).
    pub(super) fn template_rest(&mut self, start: usize) -> Result<Expr, ExprError> {
        self.peeked = None;
        let mut parts = Vec::new();
        let mut text = String::new();
        loop {
            let Some(c) = self.lex.peek_char() else {
                return Err(self.lex.error(
                    CODE_UNTERMINATED,
                    "unterminated template literal",
                    start,
                ));
            };
            self.lex.pos += c.len_utf8();
            match c {
                '`' => break,
                '\\' => self.lex.escape(&mut text)?,
                '$' if self.lex.peek_char() == Some('{') => {
                    self.lex.pos += 1;
                    if !text.is_empty() {
                        parts.push(Expr::String(std::mem::take(&mut text)));
                    }
                    self.enter()?;
                    let inner = self.expression()?;
                    self.depth -= 1;
                    self.expect("}")?;
                    self.peeked = None;
                    parts.push(inner);
                }
                '\r' => {
                    // Template literals normalise CRLF and CR to LF.
                    if self.lex.peek_char() == Some('\n') {
                        self.lex.pos += 1;
                    }
                    text.push('\n');
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() || parts.is_empty() {
            parts.push(Expr::String(text));
        }
        Ok(Expr::Template(parts))
    }
}
