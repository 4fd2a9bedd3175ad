//! Tokens of the JavaScript subset, produced on demand by the parser.
//!
//! Why on demand: in JavaScript `/` starts a regular expression where an operand is
//! expected and is division elsewhere; only the parser knows which, so it asks for a
//! regex explicitly ([`Lexer::regex`]) and otherwise gets operator tokens.

use super::{ExprError, CODE_SYNTAX, CODE_UNTERMINATED};

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A number literal.
    Num(f64),
    /// A string literal, escapes resolved.
    Str(String),
    /// An identifier or keyword.
    Ident(String),
    /// A punctuator such as `===` or `{`.
    Punct(&'static str),
    /// The opening backtick of a template literal (the parser reads the rest).
    Backtick,
    /// End of input.
    Eof,
}

/// Punctuators, longest first so that the first match is the longest one.
const PUNCTUATORS: &[&str] = &[
    ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "??=", "=>", "==", "!=",
    "<=", ">=", "&&", "||", "??", "?.", "**", "++", "--", "<<", ">>", "+=", "-=", "*=", "/=", "%=",
    "&=", "|=", "^=", "{", "}", "(", ")", "[", "]", ";", ",", "<", ">", "+", "-", "*", "/", "%",
    "&", "|", "^", "!", "~", "?", ":", "=", ".", "@", "#",
];

/// A cursor over the expression source.
pub(crate) struct Lexer<'s> {
    /// The whole parameter string (offsets in errors are relative to it).
    pub src: &'s str,
    /// Current byte offset.
    pub pos: usize,
}

pub(crate) fn is_id_start(c: char) -> bool {
    c == '$' || c == '_' || c.is_alphabetic()
}

pub(crate) fn is_id_continue(c: char) -> bool {
    c == '$' || c == '_' || c.is_alphanumeric() || c == '\u{200c}' || c == '\u{200d}'
}

impl<'s> Lexer<'s> {
    pub fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_char_at(&self, ahead: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(ahead)
    }

    pub fn error(
        &self,
        code: &'static str,
        message: impl Into<String>,
        offset: usize,
    ) -> ExprError {
        ExprError {
            code,
            message: message.into(),
            offset,
        }
    }

    /// Skips whitespace and comments.
    pub fn skip_trivia(&mut self) -> Result<(), ExprError> {
        loop {
            let rest = &self.src[self.pos..];
            if let Some(c) = rest.chars().next() {
                if c.is_whitespace() || c == '\u{feff}' {
                    self.pos += c.len_utf8();
                    continue;
                }
            }
            if rest.starts_with("//") {
                // A line comment runs to the end of the line; `}}` inside it still ends the
                // expression in n8n's splitter, so stop there too.
                let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
                let end = rest[..end].find("}}").unwrap_or(end);
                self.pos += end;
                continue;
            }
            if let Some(comment) = rest.strip_prefix("/*") {
                match comment.find("*/") {
                    Some(end) => self.pos += end + 4,
                    None => {
                        return Err(self.error(CODE_UNTERMINATED, "unterminated comment", self.pos))
                    }
                }
                continue;
            }
            return Ok(());
        }
    }

    /// Lexes the next token (operator mode: `/` is division). Returns the token and the
    /// offset where it starts.
    pub fn next(&mut self) -> Result<(Tok, usize), ExprError> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok((Tok::Eof, start));
        };
        if c.is_ascii_digit()
            || (c == '.' && self.peek_char_at(1).is_some_and(|d| d.is_ascii_digit()))
        {
            return Ok((Tok::Num(self.number()?), start));
        }
        if c == '"' || c == '\'' {
            return Ok((Tok::Str(self.string(c)?), start));
        }
        if c == '`' {
            self.pos += 1;
            return Ok((Tok::Backtick, start));
        }
        if is_id_start(c) || c == '\\' {
            return Ok((Tok::Ident(self.ident()?), start));
        }
        let rest = &self.src[self.pos..];
        for p in PUNCTUATORS {
            if rest.starts_with(p) {
                // `?.5` is `? .5`, not optional chaining.
                if *p == "?." && rest[2..].starts_with(|d: char| d.is_ascii_digit()) {
                    continue;
                }
                self.pos += p.len();
                return Ok((Tok::Punct(p), start));
            }
        }
        Err(self.error(CODE_SYNTAX, format!("unexpected character {c:?}"), start))
    }

    fn ident(&mut self) -> Result<String, ExprError> {
        let start = self.pos;
        while let Some(c) = self.peek_char() {
            if c == '\\' {
                return Err(self.error(
                    CODE_SYNTAX,
                    "escapes in identifiers are not supported",
                    self.pos,
                ));
            }
            if self.pos == start && !is_id_start(c) || self.pos > start && !is_id_continue(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
        Ok(self.src[start..self.pos].to_owned())
    }

    fn digits(&mut self, radix: u32) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek_char() {
            if c.is_digit(radix) {
                out.push(c);
            } else if c != '_' {
                break;
            }
            self.pos += 1;
        }
        out
    }

    fn number(&mut self) -> Result<f64, ExprError> {
        let start = self.pos;
        let rest = &self.src[self.pos..];
        let radix = match rest.get(..2) {
            Some("0x" | "0X") => 16,
            Some("0o" | "0O") => 8,
            Some("0b" | "0B") => 2,
            _ => 10,
        };
        let value = if radix != 10 {
            self.pos += 2;
            let digits = self.digits(radix);
            if digits.is_empty() {
                return Err(self.error(CODE_SYNTAX, "missing digits after radix prefix", start));
            }
            // Fold in f64 so that literals beyond 2^64 round as JavaScript's do.
            digits.chars().fold(0.0, |acc, d| {
                acc * radix as f64 + d.to_digit(radix).unwrap_or(0) as f64
            })
        } else {
            let mut text = self.digits(10);
            if self.peek_char() == Some('.') {
                self.pos += 1;
                text.push('.');
                text.push_str(&self.digits(10));
            }
            if matches!(self.peek_char(), Some('e' | 'E')) {
                let save = self.pos;
                self.pos += 1;
                let mut exp = String::from("e");
                if let Some(sign @ ('+' | '-')) = self.peek_char() {
                    exp.push(sign);
                    self.pos += 1;
                }
                let digits = self.digits(10);
                if digits.is_empty() {
                    self.pos = save;
                    return Err(self.error(CODE_SYNTAX, "missing exponent digits", start));
                }
                text.push_str(&exp);
                text.push_str(&digits);
            }
            if self.peek_char() == Some('n') {
                return Err(self.error(CODE_SYNTAX, "BigInt literals are not supported", start));
            }
            text.parse::<f64>()
                .map_err(|_| self.error(CODE_SYNTAX, "malformed number", start))?
        };
        if self.peek_char().is_some_and(is_id_start) {
            return Err(self.error(CODE_SYNTAX, "identifier directly after number", self.pos));
        }
        Ok(value)
    }

    /// Reads the escape after a backslash into `out` (string and template literals).
    pub fn escape(&mut self, out: &mut String) -> Result<(), ExprError> {
        let at = self.pos;
        let Some(c) = self.peek_char() else {
            return Err(self.error(CODE_UNTERMINATED, "unterminated escape", at));
        };
        self.pos += c.len_utf8();
        match c {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '0' if !self.peek_char().is_some_and(|d| d.is_ascii_digit()) => out.push('\0'),
            '\r' => {
                if self.peek_char() == Some('\n') {
                    self.pos += 1;
                }
            }
            '\n' | '\u{2028}' | '\u{2029}' => {}
            'x' => {
                let code = self.hex_digits(2, at)?;
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            'u' => {
                let code = self.unicode_escape(at)?;
                if (0xD800..0xDC00).contains(&code) && self.src[self.pos..].starts_with("\\u") {
                    // A surrogate pair written as two escapes is one character.
                    let save = self.pos;
                    self.pos += 2;
                    let low = self.unicode_escape(at)?;
                    if (0xDC00..0xE000).contains(&low) {
                        let combined = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                        out.push(char::from_u32(combined).unwrap_or('\u{fffd}'));
                        return Ok(());
                    }
                    self.pos = save;
                }
                // Rust strings cannot hold a lone surrogate: it becomes U+FFFD.
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            other => out.push(other),
        }
        Ok(())
    }

    fn unicode_escape(&mut self, at: usize) -> Result<u32, ExprError> {
        if self.peek_char() == Some('{') {
            self.pos += 1;
            let end = self.src[self.pos..]
                .find('}')
                .ok_or_else(|| self.error(CODE_SYNTAX, "malformed \\u{...} escape", at))?;
            let code = u32::from_str_radix(&self.src[self.pos..self.pos + end], 16)
                .ok()
                .filter(|c| *c <= 0x10FFFF)
                .ok_or_else(|| self.error(CODE_SYNTAX, "malformed \\u{...} escape", at))?;
            self.pos += end + 1;
            Ok(code)
        } else {
            self.hex_digits(4, at)
        }
    }

    fn hex_digits(&mut self, count: usize, at: usize) -> Result<u32, ExprError> {
        let text = self.src[self.pos..].get(..count).unwrap_or("");
        let code = if text.len() == count && text.chars().all(|c| c.is_ascii_hexdigit()) {
            u32::from_str_radix(text, 16).ok()
        } else {
            None
        };
        let code =
            code.ok_or_else(|| self.error(CODE_SYNTAX, "malformed hexadecimal escape", at))?;
        self.pos += count;
        Ok(code)
    }

    fn string(&mut self, quote: char) -> Result<String, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(self.error(CODE_UNTERMINATED, "unterminated string literal", start));
            };
            self.pos += c.len_utf8();
            match c {
                c if c == quote => return Ok(out),
                '\\' => self.escape(&mut out)?,
                '\n' | '\r' => {
                    return Err(self.error(CODE_UNTERMINATED, "unterminated string literal", start))
                }
                c => out.push(c),
            }
        }
    }

    /// Reads a regular expression literal whose `/` is at the current position.
    pub fn regex(&mut self) -> Result<(String, String), ExprError> {
        let start = self.pos;
        self.pos += 1;
        let body_start = self.pos;
        let mut in_class = false;
        loop {
            let Some(c) = self.peek_char() else {
                return Err(self.error(
                    CODE_UNTERMINATED,
                    "unterminated regular expression",
                    start,
                ));
            };
            self.pos += c.len_utf8();
            match c {
                '\\' => match self.peek_char() {
                    Some(n) if n != '\n' => self.pos += n.len_utf8(),
                    _ => {
                        return Err(self.error(
                            CODE_UNTERMINATED,
                            "unterminated regular expression",
                            start,
                        ))
                    }
                },
                '[' => in_class = true,
                ']' => in_class = false,
                '/' if !in_class => break,
                '\n' | '\r' => {
                    return Err(self.error(
                        CODE_UNTERMINATED,
                        "unterminated regular expression",
                        start,
                    ))
                }
                _ => {}
            }
        }
        let pattern = self.src[body_start..self.pos - 1].to_owned();
        let flags_start = self.pos;
        while self.peek_char().is_some_and(is_id_continue) {
            self.pos += 1;
        }
        let flags = self.src[flags_start..self.pos].to_owned();
        let mut seen = String::new();
        for f in flags.chars() {
            if !"dgimsuyv".contains(f) || seen.contains(f) {
                return Err(self.error(
                    CODE_SYNTAX,
                    format!("invalid regular expression flag {f:?}"),
                    flags_start,
                ));
            }
            seen.push(f);
        }
        Ok((pattern, flags))
    }
}
