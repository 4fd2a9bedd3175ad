//! Recursive-descent parser for the JavaScript subset of n8n expressions.
//!
//! It parses everything an n8n expression can reasonably contain. Constructs the fast
//! evaluator does not implement (function expressions, block bodies, assignments, ...)
//! are skipped over with balanced brackets and recorded as [`Expr::Opaque`], so that a
//! valid expression is never rejected: it is handed to the JavaScript fallback instead.
//! Clear syntax errors (a missing operand, an unterminated string) are errors.

mod expressions;
mod literals;

use super::ast::{BinaryOp, Expr, Global, LogicalOp, Root};
use super::lexer::{Lexer, Tok};
use super::{ExprError, CODE_NESTING, CODE_SYNTAX, CODE_UNTERMINATED};

/// Deepest nesting of sub-expressions accepted. Why: the parser and the evaluator recurse,
/// and a hostile parameter such as 100 000 `(` must not overflow the stack.
pub const NESTING_DEPTH_MAX: usize = 96;

/// Parses one `{{ ... }}` body.
pub(crate) struct Parser<'s> {
    lex: Lexer<'s>,
    /// The token after `lex.pos` once peeked: (token, start, end).
    peeked: Option<(Tok, usize, usize)>,
    /// Names of the arrow parameters in scope; a name's index is its local slot.
    locals: Vec<String>,
    depth: usize,
}

fn binary_precedence(p: &str) -> Option<(u8, Option<BinaryOp>, Option<LogicalOp>)> {
    use BinaryOp as B;
    Some(match p {
        "??" => (1, None, Some(LogicalOp::Nullish)),
        "||" => (2, None, Some(LogicalOp::Or)),
        "&&" => (3, None, Some(LogicalOp::And)),
        "|" => (4, Some(B::BitOr), None),
        "^" => (5, Some(B::BitXor), None),
        "&" => (6, Some(B::BitAnd), None),
        "==" => (7, Some(B::Eq), None),
        "!=" => (7, Some(B::NotEq), None),
        "===" => (7, Some(B::StrictEq), None),
        "!==" => (7, Some(B::StrictNotEq), None),
        "<" => (8, Some(B::Lt), None),
        "<=" => (8, Some(B::LtEq), None),
        ">" => (8, Some(B::Gt), None),
        ">=" => (8, Some(B::GtEq), None),
        "<<" => (9, Some(B::Shl), None),
        ">>" => (9, Some(B::Shr), None),
        ">>>" => (9, Some(B::UShr), None),
        "+" => (10, Some(B::Add), None),
        "-" => (10, Some(B::Sub), None),
        "*" => (11, Some(B::Mul), None),
        "/" => (11, Some(B::Div), None),
        "%" => (11, Some(B::Rem), None),
        "**" => (12, Some(B::Pow), None),
        _ => return None,
    })
}

/// Keywords that start a statement: a segment that begins with one is JavaScript-only.
const STATEMENT_KEYWORDS: &[&str] = &[
    "const", "let", "var", "if", "for", "while", "do", "return", "try", "throw", "switch",
];

const ASSIGNMENT_OPERATORS: &[&str] = &[
    "=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", ">>>=", "&=", "|=", "^=", "&&=", "||=",
    "??=",
];

fn root(name: &str) -> Option<Root> {
    Some(match name {
        "$json" => Root::Json,
        "$binary" => Root::Binary,
        "$input" => Root::Input,
        "$itemIndex" => Root::ItemIndex,
        "$runIndex" => Root::RunIndex,
        "$now" => Root::Now,
        "$today" => Root::Today,
        "$workflow" => Root::Workflow,
        "$execution" => Root::Execution,
        "$prevNode" => Root::PrevNode,
        "$vars" => Root::Vars,
        "$env" => Root::Env,
        "$node" => Root::Node,
        _ => return None,
    })
}

fn global(name: &str) -> Option<Global> {
    Some(match name {
        "$" => Global::NodeFn,
        "Math" => Global::Math,
        "JSON" => Global::Json,
        "Object" => Global::Object,
        "Array" => Global::Array,
        "Number" => Global::Number,
        "String" => Global::String,
        "Boolean" => Global::Boolean,
        "DateTime" => Global::DateTime,
        "Date" => Global::Date,
        "parseInt" => Global::ParseInt,
        "parseFloat" => Global::ParseFloat,
        "isNaN" => Global::IsNaN,
        "isFinite" => Global::IsFinite,
        "encodeURIComponent" => Global::EncodeUriComponent,
        "decodeURIComponent" => Global::DecodeUriComponent,
        "encodeURI" => Global::EncodeUri,
        "decodeURI" => Global::DecodeUri,
        "$ifEmpty" => Global::IfEmpty,
        "$if" => Global::If,
        "$jmespath" => Global::Jmespath,
        "$max" => Global::Max,
        "$min" => Global::Min,
        "$item" => Global::ItemFn,
        _ => return None,
    })
}

fn boxed(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl<'s> Parser<'s> {
    /// A parser for `src[start..]`; offsets in errors are relative to `src`.
    pub fn new(src: &'s str, start: usize) -> Self {
        Parser {
            lex: Lexer { src, pos: start },
            peeked: None,
            locals: Vec::new(),
            depth: 0,
        }
    }

    /// Byte offset just after the last consumed token.
    pub fn pos(&self) -> usize {
        self.lex.pos
    }

    fn peek(&mut self) -> Result<&Tok, ExprError> {
        if self.peeked.is_none() {
            let save = self.lex.pos;
            let (tok, start) = self.lex.next()?;
            let end = self.lex.pos;
            self.lex.pos = save;
            self.peeked = Some((tok, start, end));
        }
        Ok(&self.peeked.as_ref().expect("peeked just set").0)
    }

    fn peek_start(&mut self) -> Result<usize, ExprError> {
        self.peek()?;
        Ok(self.peeked.as_ref().map(|p| p.1).unwrap_or(self.lex.pos))
    }

    fn bump(&mut self) -> Result<Tok, ExprError> {
        self.peek()?;
        let (tok, _, end) = self.peeked.take().expect("peeked just set");
        self.lex.pos = end;
        Ok(tok)
    }

    fn is_punct(&mut self, p: &str) -> Result<bool, ExprError> {
        Ok(matches!(self.peek()?, Tok::Punct(q) if *q == p))
    }

    fn eat(&mut self, p: &str) -> Result<bool, ExprError> {
        if self.is_punct(p)? {
            self.bump()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), ExprError> {
        if self.eat(p)? {
            Ok(())
        } else {
            Err(self.unexpected(&format!("expected `{p}`")))
        }
    }

    fn unexpected(&mut self, what: &str) -> ExprError {
        let (tok, at) = match self.peek() {
            Ok(t) => (
                format!("{t:?}"),
                self.peeked.as_ref().map(|p| p.1).unwrap_or(self.lex.pos),
            ),
            Err(e) => return e,
        };
        let found = match tok.as_str() {
            "Eof" => "end of expression".to_owned(),
            t => t.to_owned(),
        };
        self.lex.error(
            CODE_SYNTAX,
            format!("invalid syntax: {what}, found {found}"),
            at,
        )
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > NESTING_DEPTH_MAX {
            return Err(self
                .lex
                .error(CODE_NESTING, "expression nested too deeply", self.lex.pos));
        }
        Ok(())
    }

    /// True when the next token closes the `{{ }}`: `}}` or the end of input.
    pub fn at_segment_end(&mut self) -> Result<bool, ExprError> {
        self.lex.skip_trivia()?;
        self.peeked = None;
        let rest = &self.lex.src[self.lex.pos..];
        Ok(rest.starts_with("}}") || rest.is_empty())
    }

    /// Parses a whole segment body: an expression followed by optional `;`.
    pub fn segment(&mut self) -> Result<Expr, ExprError> {
        if self.at_segment_end()? {
            return Ok(Expr::Undefined);
        }
        if matches!(self.peek()?, Tok::Ident(k) if STATEMENT_KEYWORDS.contains(&k.as_str())) {
            self.skip_statements()?;
            return Ok(Expr::Opaque("statements".to_owned()));
        }
        let expr = self.expression()?;
        while self.eat(";")? {}
        if !self.at_segment_end()? {
            // A statement list such as `a; b` is JavaScript the fast path does not run.
            if matches!(
                self.peek()?,
                Tok::Punct("}") | Tok::Punct(")") | Tok::Punct("]")
            ) {
                return Err(self.unexpected("unbalanced bracket"));
            }
            self.skip_statements()?;
            return Ok(Expr::Opaque("statements".to_owned()));
        }
        Ok(expr)
    }

    /// Skips statements up to the segment end (only the JS fallback runs them).
    fn skip_statements(&mut self) -> Result<(), ExprError> {
        let mut operand = false;
        loop {
            if self.at_segment_end()? {
                return Ok(());
            }
            operand = self.skip_balanced_token(operand)?;
        }
    }

    /// Consumes one token, or a whole bracketed group if it opens one. `after_operand`
    /// tells whether a `/` here is division (after an operand) or starts a regex. Returns
    /// whether what was consumed ends an operand.
    fn skip_balanced_token(&mut self, after_operand: bool) -> Result<bool, ExprError> {
        let start = self.peek_start()?;
        if !after_operand && matches!(self.peek()?, Tok::Punct("/") | Tok::Punct("/=")) {
            self.peeked = None;
            self.lex.pos = start;
            self.lex.regex()?;
            return Ok(true);
        }
        let tok = self.bump()?;
        let close = match tok {
            Tok::Punct("(") => ")",
            Tok::Punct("[") => "]",
            Tok::Punct("{") => "}",
            Tok::Backtick => {
                self.template_rest(start)?;
                return Ok(true);
            }
            Tok::Punct(p @ (")" | "]" | "}")) => {
                return Err(self.lex.error(
                    CODE_SYNTAX,
                    format!("invalid syntax: unbalanced `{p}`"),
                    start,
                ))
            }
            Tok::Eof => {
                return Err(self.lex.error(
                    CODE_UNTERMINATED,
                    "unexpected end of expression",
                    start,
                ))
            }
            Tok::Num(_) | Tok::Str(_) => return Ok(true),
            Tok::Ident(word) => {
                return Ok(!is_reserved(&word) && !STATEMENT_KEYWORDS.contains(&word.as_str()))
            }
            Tok::Punct(_) => return Ok(false),
        };
        self.enter()?;
        let mut operand = false;
        loop {
            if self.eat(close)? {
                break;
            }
            operand = self.skip_balanced_token(operand)?;
        }
        self.depth -= 1;
        Ok(true)
    }
}

/// The property key a number literal names (`{1: x}` is key `"1"`).
fn number_key(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn is_reserved(name: &str) -> bool {
    matches!(
        name,
        "break"
            | "case"
            | "catch"
            | "const"
            | "continue"
            | "debugger"
            | "default"
            | "do"
            | "else"
            | "export"
            | "extends"
            | "finally"
            | "for"
            | "if"
            | "import"
            | "let"
            | "return"
            | "super"
            | "switch"
            | "throw"
            | "try"
            | "var"
            | "while"
            | "with"
            | "in"
            | "instanceof"
            | "new"
            | "typeof"
            | "void"
            | "delete"
            | "true"
            | "false"
            | "null"
            | "function"
            | "class"
            | "enum"
    )
}
