//! Recursive-descent parser for the JavaScript subset of n8n expressions.
//!
//! It parses everything an n8n expression can reasonably contain. Constructs the fast
//! evaluator does not implement (function expressions, block bodies, assignments, ...)
//! are skipped over with balanced brackets and recorded as [`Expr::Opaque`], so that a
//! valid expression is never rejected: it is handed to the JavaScript fallback instead.
//! Clear syntax errors (a missing operand, an unterminated string) are errors.

use super::ast::{BinaryOp, Expr, Global, LogicalOp, ObjectKey, Root, UnaryOp};
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

    /// `a, b, c`
    pub fn expression(&mut self) -> Result<Expr, ExprError> {
        let first = self.assignment()?;
        if !self.is_punct(",")? {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat(",")? {
            items.push(self.assignment()?);
        }
        Ok(Expr::Sequence(items))
    }

    fn assignment(&mut self) -> Result<Expr, ExprError> {
        self.enter()?;
        let result = self.assignment_inner();
        self.depth -= 1;
        result
    }

    fn assignment_inner(&mut self) -> Result<Expr, ExprError> {
        if let Some(arrow) = self.try_arrow()? {
            return Ok(arrow);
        }
        if matches!(self.peek()?, Tok::Ident(k) if k == "yield" || k == "async") {
            // `async x => ...` and generators are JavaScript-only.
            self.bump()?;
            let _ = self.assignment()?;
            return Ok(Expr::Opaque("async".to_owned()));
        }
        let test = self.binary(0)?;
        if self.eat("?")? {
            let then = self.assignment()?;
            self.expect(":")?;
            let otherwise = self.assignment()?;
            return Ok(Expr::Conditional {
                test: boxed(test),
                then: boxed(then),
                otherwise: boxed(otherwise),
            });
        }
        if let Tok::Punct(p) = self.peek()? {
            if ASSIGNMENT_OPERATORS.contains(p) {
                self.bump()?;
                let _ = self.assignment()?;
                return Ok(Expr::Opaque("assignment".to_owned()));
            }
        }
        Ok(test)
    }

    /// Parses an arrow function if one starts here.
    fn try_arrow(&mut self) -> Result<Option<Expr>, ExprError> {
        let save_pos = self.lex.pos;
        let save_peek = self.peeked.clone();
        let restore = |p: &mut Self| {
            p.lex.pos = save_pos;
            p.peeked = save_peek.clone();
        };
        let mut params = Vec::new();
        let mut simple = true;
        match self.peek()?.clone() {
            Tok::Ident(name) if !is_reserved(&name) => {
                self.bump()?;
                if !self.is_punct("=>")? {
                    restore(self);
                    return Ok(None);
                }
                params.push(name);
            }
            Tok::Punct("(") => {
                self.bump()?;
                loop {
                    if self.eat(")")? {
                        break;
                    }
                    match self.peek()?.clone() {
                        Tok::Ident(name) if !is_reserved(&name) => {
                            self.bump()?;
                            params.push(name);
                        }
                        Tok::Punct("{") | Tok::Punct("[") | Tok::Punct("...") => {
                            simple = false;
                            self.skip_balanced_token(false)?;
                        }
                        _ => {
                            restore(self);
                            return Ok(None);
                        }
                    }
                    if self.eat("=")? {
                        // Default values: JavaScript-only; skip the default expression.
                        simple = false;
                        let _ = self.assignment()?;
                    }
                    if !self.eat(",")? {
                        if self.eat(")")? {
                            break;
                        }
                        restore(self);
                        return Ok(None);
                    }
                }
                if !self.is_punct("=>")? {
                    restore(self);
                    return Ok(None);
                }
            }
            _ => return Ok(None),
        }
        self.expect("=>")?;
        let first_slot = self.locals.len() as u32;
        let count = params.len() as u32;
        self.locals.extend(params);
        let body = if self.is_punct("{")? {
            self.block_body()
        } else {
            self.assignment()
        };
        self.locals.truncate(first_slot as usize);
        let body = body?;
        if !simple {
            return Ok(Some(Expr::Opaque("arrow parameter pattern".to_owned())));
        }
        Ok(Some(Expr::Arrow {
            params: count,
            first_slot,
            body: boxed(body),
        }))
    }

    /// `{ return expr; }` is kept as an expression body; other blocks are JavaScript-only.
    fn block_body(&mut self) -> Result<Expr, ExprError> {
        let save_pos = self.lex.pos;
        let save_peek = self.peeked.clone();
        self.expect("{")?;
        if matches!(self.peek()?, Tok::Ident(k) if k == "return") {
            self.bump()?;
            let expr = self.expression()?;
            while self.eat(";")? {}
            if self.eat("}")? {
                return Ok(expr);
            }
        }
        self.lex.pos = save_pos;
        self.peeked = save_peek;
        self.skip_balanced_token(false)?;
        Ok(Expr::Opaque("block arrow body".to_owned()))
    }

    fn binary(&mut self, min_precedence: u8) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        loop {
            let (precedence, binary, logical) = match self.peek()? {
                Tok::Punct(p) => match binary_precedence(p) {
                    Some(x) => x,
                    None => break,
                },
                Tok::Ident(k) if k == "in" => (8, Some(BinaryOp::In), None),
                Tok::Ident(k) if k == "instanceof" => (8, None, None),
                _ => break,
            };
            if precedence < min_precedence {
                break;
            }
            self.bump()?;
            // `**` is right-associative: its right side may hold another `**`.
            let next = if precedence == 12 {
                precedence
            } else {
                precedence + 1
            };
            self.enter()?;
            let right = self.binary(next);
            self.depth -= 1;
            let right = right?;
            left = match (binary, logical) {
                (Some(op), _) => Expr::Binary {
                    op,
                    left: boxed(left),
                    right: boxed(right),
                },
                (None, Some(op)) => Expr::Logical {
                    op,
                    left: boxed(left),
                    right: boxed(right),
                },
                (None, None) => Expr::Opaque("instanceof".to_owned()),
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        self.enter()?;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr, ExprError> {
        let op = match self.peek()? {
            Tok::Punct("!") => Some(UnaryOp::Not),
            Tok::Punct("-") => Some(UnaryOp::Neg),
            Tok::Punct("+") => Some(UnaryOp::Plus),
            Tok::Punct("~") => Some(UnaryOp::BitNot),
            Tok::Ident(k) if k == "typeof" => Some(UnaryOp::Typeof),
            Tok::Ident(k) if k == "void" => Some(UnaryOp::Void),
            Tok::Punct("++") | Tok::Punct("--") => {
                self.bump()?;
                let _ = self.unary()?;
                return Ok(Expr::Opaque("increment".to_owned()));
            }
            Tok::Ident(k) if k == "delete" || k == "await" => {
                let feature = k.clone();
                self.bump()?;
                let _ = self.unary()?;
                return Ok(Expr::Opaque(feature));
            }
            _ => None,
        };
        if let Some(op) = op {
            self.bump()?;
            let operand = self.unary()?;
            return Ok(Expr::Unary {
                op,
                operand: boxed(operand),
            });
        }
        let expr = self.postfix()?;
        if self.is_punct("++")? || self.is_punct("--")? {
            self.bump()?;
            return Ok(Expr::Opaque("increment".to_owned()));
        }
        Ok(expr)
    }

    fn arguments(&mut self) -> Result<Vec<Expr>, ExprError> {
        let mut args = Vec::new();
        loop {
            if self.eat(")")? {
                return Ok(args);
            }
            if self.eat("...")? {
                args.push(Expr::Spread(boxed(self.assignment()?)));
            } else {
                args.push(self.assignment()?);
            }
            if !self.eat(",")? {
                self.expect(")")?;
                return Ok(args);
            }
        }
    }

    fn property_name(&mut self) -> Result<String, ExprError> {
        match self.bump()? {
            Tok::Ident(name) => Ok(name),
            _ => {
                self.peeked = None;
                Err(self.lex.error(
                    CODE_SYNTAX,
                    "invalid syntax: expected a property name",
                    self.lex.pos,
                ))
            }
        }
    }

    /// Member accesses, calls and optional chains after a primary expression.
    fn postfix(&mut self) -> Result<Expr, ExprError> {
        let mut expr = if matches!(self.peek()?, Tok::Ident(k) if k == "new") {
            self.new_expression()?
        } else {
            self.primary()?
        };
        let mut chained = false;
        loop {
            if self.eat(".")? {
                let name = self.property_name()?;
                expr = self.member_or_call(expr, name, false)?;
            } else if self.eat("?.")? {
                chained = true;
                if self.eat("[")? {
                    let index = self.expression()?;
                    self.expect("]")?;
                    expr = Expr::Index {
                        object: boxed(expr),
                        index: boxed(index),
                        optional: true,
                    };
                } else if self.eat("(")? {
                    let args = self.arguments()?;
                    expr = Expr::Call {
                        callee: boxed(expr),
                        args,
                        optional: true,
                    };
                } else {
                    let name = self.property_name()?;
                    expr = self.member_or_call(expr, name, true)?;
                }
            } else if self.eat("[")? {
                let index = self.expression()?;
                self.expect("]")?;
                expr = Expr::Index {
                    object: boxed(expr),
                    index: boxed(index),
                    optional: false,
                };
            } else if self.eat("(")? {
                let args = self.arguments()?;
                expr = Expr::Call {
                    callee: boxed(expr),
                    args,
                    optional: false,
                };
            } else if matches!(self.peek()?, Tok::Backtick) {
                let start = self.peek_start()?;
                self.bump()?;
                self.template_rest(start)?;
                expr = Expr::Opaque("tagged template".to_owned());
            } else {
                break;
            }
        }
        Ok(if chained {
            Expr::Chain(boxed(expr))
        } else {
            expr
        })
    }

    fn member_or_call(
        &mut self,
        object: Expr,
        name: String,
        optional: bool,
    ) -> Result<Expr, ExprError> {
        if self.eat("(")? {
            let args = self.arguments()?;
            return Ok(Expr::Method {
                object: boxed(object),
                name,
                args,
                optional,
            });
        }
        Ok(match object {
            // Static chains on a data root become one path: the hot case `$json.body.a`.
            Expr::Root(root) if !optional => Expr::Path {
                root,
                keys: vec![name],
            },
            Expr::Path { root, mut keys } if !optional => {
                keys.push(name);
                Expr::Path { root, keys }
            }
            object => Expr::Member {
                object: boxed(object),
                name,
                optional,
            },
        })
    }

    fn new_expression(&mut self) -> Result<Expr, ExprError> {
        self.bump()?;
        self.enter()?;
        let mut callee = if matches!(self.peek()?, Tok::Ident(k) if k == "new") {
            self.new_expression()?
        } else {
            self.primary()?
        };
        while self.eat(".")? {
            let name = self.property_name()?;
            callee = Expr::Member {
                object: boxed(callee),
                name,
                optional: false,
            };
        }
        let args = if self.eat("(")? {
            self.arguments()?
        } else {
            Vec::new()
        };
        self.depth -= 1;
        Ok(Expr::New {
            callee: boxed(callee),
            args,
        })
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
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
    fn template_rest(&mut self, start: usize) -> Result<Expr, ExprError> {
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
