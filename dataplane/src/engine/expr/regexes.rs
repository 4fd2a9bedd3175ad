//! Regular expressions: compiled once per thread from the JavaScript pattern (translated by
//! the codec), and the string operations that take them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use bumpalo::collections::{String as BumpString, Vec as BumpVec};
use fancy_regex::{Captures, Regex};
use linkflow_codec::expr::regex::translate;

use super::eval::{type_error, Eval, Fault, Res};
use super::scope::Scope;
use super::val::Val;
use crate::engine::value::Value;

/// Compiled regexes kept per thread. Why a cap: patterns can come from data
/// (`new RegExp($json.x)` is JavaScript-only, but `match('literal')` is not), and the cache
/// must not grow without bound.
pub const REGEX_CACHE_ENTRIES_MAX: usize = 512;

/// Cache key (pattern, flags) to the compiled regex and its `g` flag.
type Cache = HashMap<(String, String), (Rc<Regex>, bool)>;

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(HashMap::new());
}

/// A compiled regex and whether it has the `g` flag.
pub(crate) struct Compiled {
    regex: Rc<Regex>,
    pub global: bool,
}

impl std::ops::Deref for Compiled {
    type Target = Regex;
    fn deref(&self) -> &Regex {
        &self.regex
    }
}

/// Compiles (or fetches) the regex for a JavaScript pattern and flags.
pub(crate) fn compile(pattern: &str, flags: &str) -> Result<Compiled, Fault> {
    let key = (pattern.to_owned(), flags.to_owned());
    if let Some((regex, global)) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(Compiled { regex, global });
    }
    let translated = translate(pattern, flags)
        .map_err(|e| Fault::Type(format!("Invalid regular expression: {e}")))?;
    let regex = Rc::new(
        Regex::new(&translated.pattern)
            .map_err(|e| Fault::Type(format!("Invalid regular expression: {e}")))?,
    );
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= REGEX_CACHE_ENTRIES_MAX {
            cache.clear();
        }
        cache.insert(key, (regex.clone(), translated.global));
    });
    Ok(Compiled {
        regex,
        global: translated.global,
    })
}

fn regex_error(e: fancy_regex::Error) -> Fault {
    Fault::Type(format!("regular expression failed: {e}"))
}

/// Appends JavaScript's `GetSubstitution` of `template` for one match.
fn substitute(
    out: &mut BumpString<'_>,
    template: &str,
    s: &str,
    caps: Option<&Captures<'_>>,
    start: usize,
    end: usize,
) {
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 >= bytes.len() {
            let c = template[i..].chars().next().unwrap_or('$');
            out.push(c);
            i += c.len_utf8();
            continue;
        }
        let next = bytes[i + 1];
        match next {
            b'$' => {
                out.push('$');
                i += 2;
            }
            b'&' => {
                out.push_str(&s[start..end]);
                i += 2;
            }
            b'`' => {
                out.push_str(&s[..start]);
                i += 2;
            }
            b'\'' => {
                out.push_str(&s[end..]);
                i += 2;
            }
            b'0'..=b'9' if caps.is_some() => {
                let caps = caps.expect("checked");
                let one = (next - b'0') as usize;
                let two = bytes
                    .get(i + 2)
                    .filter(|b| b.is_ascii_digit())
                    .map(|b| one * 10 + (b - b'0') as usize);
                let (group, used) = match two {
                    Some(g) if g > 0 && g < caps.len() => (g, 3),
                    _ => (one, 2),
                };
                if group > 0 && group < caps.len() {
                    if let Some(m) = caps.get(group) {
                        out.push_str(m.as_str());
                    }
                    i += used;
                } else {
                    out.push('$');
                    i += 1;
                }
            }
            b'<' if caps.is_some() => match template[i + 2..].find('>') {
                Some(close) => {
                    let name = &template[i + 2..i + 2 + close];
                    if let Some(m) = caps.and_then(|c| c.name(name)) {
                        out.push_str(m.as_str());
                    }
                    i += close + 3;
                }
                None => {
                    out.push('$');
                    i += 1;
                }
            },
            _ => {
                out.push('$');
                i += 1;
            }
        }
    }
}

/// `replace` / `replaceAll` with a string or regex pattern and a string or function
/// replacement.
pub(crate) fn replace<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    s: &'a str,
    args: &'a [Val<'a>],
    all: bool,
) -> Res<'a> {
    let pattern = args.first().copied().unwrap_or(Val::Undefined);
    let replacement = args.get(1).copied().unwrap_or(Val::Undefined);
    let template = match replacement {
        Val::Func(_) => None,
        other => Some(ev.str_of(other)),
    };
    let mut out = BumpString::with_capacity_in(s.len(), ev.arena);
    let mut last = 0;
    match pattern {
        Val::Regex(p, flags) => {
            let re = compile(p, flags)?;
            if all && !re.global {
                return type_error("replaceAll must be called with a global RegExp");
            }
            let mut pos = 0;
            while pos <= s.len() {
                let Some(caps) = re.captures_from_pos(s, pos).map_err(regex_error)? else {
                    break;
                };
                let m = caps.get(0).expect("group 0 always matches");
                out.push_str(&s[last..m.start()]);
                match template {
                    Some(t) => substitute(&mut out, t, s, Some(&caps), m.start(), m.end()),
                    None => {
                        let mut call_args = BumpVec::new_in(ev.arena);
                        for i in 0..caps.len() {
                            call_args.push(
                                caps.get(i)
                                    .map(|g| Val::String(&s[g.start()..g.end()]))
                                    .unwrap_or(Val::Undefined),
                            );
                        }
                        call_args.push(Val::Number(
                            super::strings::utf16_at_byte(s, m.start()) as f64
                        ));
                        call_args.push(Val::String(s));
                        let v = ev.call(replacement, &call_args)?;
                        let text = ev.str_of(v);
                        out.push_str(text);
                    }
                }
                last = m.end();
                if !re.global {
                    break;
                }
                // An empty match advances by one character so the loop ends.
                pos = if m.end() == m.start() {
                    m.end() + s[m.end()..].chars().next().map_or(1, char::len_utf8)
                } else {
                    m.end()
                };
            }
        }
        other => {
            let needle = ev.str_of(other);
            let mut from = 0;
            loop {
                let found = if needle.is_empty() {
                    (from <= s.len()).then_some(from)
                } else {
                    s[from..].find(needle).map(|i| from + i)
                };
                let Some(start) = found else { break };
                let end = start + needle.len();
                out.push_str(&s[last..start]);
                match template {
                    Some(t) => substitute(&mut out, t, s, None, start, end),
                    None => {
                        let call_args = ev.arena.alloc_slice_copy(&[
                            Val::String(&s[start..end]),
                            Val::Number(super::strings::utf16_at_byte(s, start) as f64),
                            Val::String(s),
                        ]);
                        let v = ev.call(replacement, call_args)?;
                        let text = ev.str_of(v);
                        out.push_str(text);
                    }
                }
                last = end;
                if !all {
                    break;
                }
                from = if needle.is_empty() {
                    match s[end..].chars().next() {
                        Some(c) => {
                            out.push_str(&s[end..end + c.len_utf8()]);
                            last = end + c.len_utf8();
                            end + c.len_utf8()
                        }
                        None => break,
                    }
                } else {
                    end
                };
                ev.check_len(out.len())?;
            }
        }
    }
    out.push_str(&s[last.min(s.len())..]);
    ev.check_len(out.len())?;
    Ok(Val::String(out.into_bump_str()))
}

/// `string.match(pattern)`.
pub(crate) fn match_all<'a, S: Scope<'a> + ?Sized>(
    ev: &mut Eval<'a, '_, S>,
    s: &'a str,
    pattern: Val<'a>,
) -> Res<'a> {
    let re = match pattern {
        Val::Regex(p, flags) => compile(p, flags)?,
        Val::Undefined => compile("(?:)", "")?,
        other => {
            let p = ev.str_of(other);
            compile(p, "")?
        }
    };
    let mut out = BumpVec::new_in(ev.arena);
    if re.global {
        for m in re.find_iter(s) {
            let m = m.map_err(regex_error)?;
            out.push(Value::String(&s[m.start()..m.end()]));
        }
        if out.is_empty() {
            return Ok(Val::Null);
        }
    } else {
        let Some(caps) = re.captures(s).map_err(regex_error)? else {
            return Ok(Val::Null);
        };
        for i in 0..caps.len() {
            out.push(
                caps.get(i)
                    .map(|g| Value::String(&s[g.start()..g.end()]))
                    .unwrap_or(Value::Undefined),
            );
        }
    }
    Ok(Val::Array(out.into_bump_slice()))
}

/// `regex.test(string)`.
pub(crate) fn test<'a>(pattern: &str, flags: &str, s: &str) -> Res<'a> {
    let re = compile(pattern, flags)?;
    Ok(Val::Bool(re.is_match(s).map_err(regex_error)?))
}

/// What n8n's `extract*` string extensions look for.
pub(crate) enum Extract {
    Email,
    Url,
    Domain,
}

const EMAIL_PATTERN: &str = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+";
const URL_PATTERN: &str = r"(?:https?|ftp)://[^\s/$.?#][^\s]*";

/// `extractEmail()`, `extractUrl()`, `extractDomain()`: the first match, or `undefined`.
pub(crate) fn extract<'a, S: Scope<'a> + ?Sized>(
    ev: &Eval<'a, '_, S>,
    s: &'a str,
    what: Extract,
) -> Val<'a> {
    let find = |pattern: &str| -> Option<&'a str> {
        let re = compile(pattern, "").ok()?;
        let m = re.find(s).ok()??;
        Some(&s[m.start()..m.end()])
    };
    let _ = ev;
    match what {
        Extract::Email => find(EMAIL_PATTERN)
            .map(Val::String)
            .unwrap_or(Val::Undefined),
        Extract::Url => find(URL_PATTERN).map(Val::String).unwrap_or(Val::Undefined),
        Extract::Domain => {
            if let Some(email) = find(EMAIL_PATTERN) {
                return email
                    .split_once('@')
                    .map(|(_, d)| Val::String(d))
                    .unwrap_or(Val::Undefined);
            }
            let rest = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
            let host = rest.split(['/', '?', '#', ':']).next().unwrap_or("");
            if host.contains('.') && !host.contains(char::is_whitespace) {
                Val::String(host)
            } else {
                Val::Undefined
            }
        }
    }
}
