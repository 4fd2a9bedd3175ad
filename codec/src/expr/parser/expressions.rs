//! Operators, arrow functions, calls and member chains.

use super::{binary_precedence, boxed, is_reserved, Parser, ASSIGNMENT_OPERATORS};
use crate::expr::ast::{BinaryOp, Expr, UnaryOp};
use crate::expr::lexer::Tok;
use crate::expr::{ExprError, CODE_SYNTAX};

impl Parser<'_> {
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

    pub(super) fn assignment(&mut self) -> Result<Expr, ExprError> {
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
                keys: vec![name.into_boxed_str()],
            },
            Expr::Path { root, mut keys } if !optional => {
                keys.push(name.into_boxed_str());
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
}
