//! JavaScript regular expressions translated to the syntax of the `fancy-regex` crate.
//!
//! Why a translation: the two dialects differ in details that change results. Without the
//! `u` flag JavaScript's `\d` and `\w` are ASCII-only while Rust's are Unicode; `[^]` means
//! "any character" in JavaScript and is an error in Rust; `\/` is a common JavaScript
//! escape. Look-around and back-references need `fancy-regex` (a backtracking layer over
//! `regex`). Patterns that cannot be translated faithfully send the expression to the
//! JavaScript fallback instead of running with different semantics.

/// A translated pattern and the flags the evaluator handles itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    /// The pattern in `fancy-regex` syntax, inline flags included.
    pub pattern: String,
    /// `g`: replace / match every occurrence.
    pub global: bool,
}

impl Translated {
    /// Compiles the pattern once to prove that the engine will accept it.
    pub fn check(self) -> Result<Self, String> {
        fancy_regex::Regex::new(&self.pattern).map_err(|e| e.to_string())?;
        Ok(self)
    }
}

/// Translates a JavaScript pattern and flags.
pub fn translate(pattern: &str, flags: &str) -> Result<Translated, String> {
    let mut out = String::with_capacity(pattern.len() + 8);
    let inline: String = flags
        .chars()
        .filter(|f| matches!(f, 'i' | 'm' | 's'))
        .collect();
    if flags.contains('y') {
        return Err("sticky flag".to_owned());
    }
    if !inline.is_empty() {
        out.push_str("(?");
        out.push_str(&inline);
        out.push(')');
    }
    let unicode = flags.contains('u') || flags.contains('v');
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    return Err("trailing backslash".to_owned());
                };
                match e {
                    'd' if !unicode => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                    'D' if !unicode && !in_class => out.push_str("[^0-9]"),
                    'w' if !unicode => out.push_str(if in_class {
                        "A-Za-z0-9_"
                    } else {
                        "[A-Za-z0-9_]"
                    }),
                    'W' if !unicode && !in_class => out.push_str("[^A-Za-z0-9_]"),
                    '0' => out.push_str("\\x00"),
                    'c' => {
                        let letter = chars
                            .next()
                            .filter(|l| l.is_ascii_alphabetic())
                            .ok_or("bad \\c escape")?;
                        out.push_str(&format!("\\x{{{:02x}}}", (letter as u32) % 32));
                    }
                    'u' => {
                        let mut hex = String::new();
                        if chars.peek() == Some(&'{') {
                            chars.next();
                            for h in chars.by_ref() {
                                if h == '}' {
                                    break;
                                }
                                hex.push(h);
                            }
                        } else {
                            for _ in 0..4 {
                                hex.push(chars.next().ok_or("bad \\u escape")?);
                            }
                        }
                        let code = u32::from_str_radix(&hex, 16).map_err(|_| "bad \\u escape")?;
                        if (0xD800..0xE000).contains(&code) {
                            return Err("surrogate escape".to_owned());
                        }
                        out.push_str(&format!("\\x{{{code:x}}}"));
                    }
                    'k' => return Err("named back-reference".to_owned()),
                    e if e.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(e);
                    }
                    // JavaScript allows escaping any punctuation; Rust only meta characters,
                    // so escape through a hex code which both accept.
                    e => out.push_str(&format!("\\x{{{:x}}}", e as u32)),
                }
            }
            '[' if !in_class => {
                if pattern_rest_starts(&mut chars, "^]") {
                    chars.next();
                    chars.next();
                    out.push_str("[\\s\\S]");
                    continue;
                }
                if chars.peek() == Some(&']') {
                    return Err("empty character class".to_owned());
                }
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' | '-' if in_class => {
                // Rust treats `&&`, `~~` and `--` in classes as set operations.
                if c == '-' {
                    out.push('-');
                } else {
                    out.push_str(&format!("\\x{{{:x}}}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    Ok(Translated {
        pattern: out,
        global: flags.contains('g'),
    })
}

fn pattern_rest_starts(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, prefix: &str) -> bool {
    let rest: String = chars.clone().take(prefix.len()).collect();
    rest == prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_classes_without_unicode_flag() {
        let t = translate(r"\d+\w", "g").unwrap();
        assert_eq!(t.pattern, "[0-9]+[A-Za-z0-9_]");
        assert!(t.global);
    }

    #[test]
    fn inline_flags_and_escaped_slash() {
        assert_eq!(translate(r"a\/b", "i").unwrap().pattern, "(?i)a\\x{2f}b");
    }

    #[test]
    fn any_character_class_and_lookahead_compile() {
        assert!(translate("[^]+(?=x)", "").unwrap().check().is_ok());
    }

    #[test]
    fn sticky_flag_is_not_translated() {
        assert!(translate("a", "y").is_err());
    }
}
