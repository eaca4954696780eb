//! SCIM-style filter and search expressions (`filter=`, `search=`) as Okta accepts them:
//! `attr op "value"`, `attr pr`, `and`, `or`, parentheses. Operators and `and`/`or` are
//! case-insensitive, attribute names are case-sensitive. `not` and `[ ]` are not supported by
//! any endpoint the simulator serves (reference 6.1; users: "The `not` operator isn't supported").
//!
//! Parsing yields an [`Expr`]; each endpoint then checks every comparison against its own
//! allowed attribute/operator pairs (converting timestamp literals once, see [`Expr::check`]) and
//! evaluates it per object with [`Expr::eval`].

use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `eq`
    Eq,
    /// `ne`
    Ne,
    /// `co` (contains)
    Co,
    /// `sw` (starts with)
    Sw,
    /// `ew` (ends with)
    Ew,
    /// `pr` (present)
    Pr,
    /// `gt`
    Gt,
    /// `ge`
    Ge,
    /// `lt`
    Lt,
    /// `le`
    Le,
}

impl Op {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "pr" => Self::Pr,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Pr => "pr",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }
    /// `gt ge lt le eq ne`: the operators that make sense on timestamps.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            Self::Eq | Self::Ne | Self::Gt | Self::Ge | Self::Lt | Self::Le
        )
    }
}

/// A literal on the right of an operator.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    /// A quoted string.
    Str(String),
    /// A timestamp (a string literal converted by an endpoint's check).
    Time(DateTime<Utc>),
    /// `true` / `false`.
    Bool(bool),
    /// A bare number.
    Num(String),
    /// `null`, or nothing (for `pr`).
    Null,
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Both sides.
    And(Box<Expr>, Box<Expr>),
    /// Either side.
    Or(Box<Expr>, Box<Expr>),
    /// `attr op lit`.
    Cmp {
        /// Attribute path, e.g. `profile.login`.
        attr: String,
        /// Operator.
        op: Op,
        /// Literal.
        lit: Lit,
    },
}

/// Why an expression did not parse, with the character position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Description, in the style of Okta's System Log error text.
    pub message: String,
}

/// A value read from an object for a comparison.
#[derive(Debug)]
pub enum Field<'a> {
    /// A string attribute.
    Str(Cow<'a, str>),
    /// A timestamp attribute.
    Time(DateTime<Utc>),
    /// Absent or null.
    Missing,
}

impl Expr {
    /// Visits every comparison, letting `f` refuse it or rewrite its literal (e.g. parse a
    /// timestamp once). Returns the first error.
    pub fn check<E>(
        &mut self,
        f: &mut impl FnMut(&str, Op, &mut Lit) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Self::And(a, b) | Self::Or(a, b) => {
                a.check(f)?;
                b.check(f)
            }
            Self::Cmp { attr, op, lit } => f(attr, *op, lit),
        }
    }
    /// Evaluates the expression; `f` decides one comparison.
    pub fn eval(&self, f: &impl Fn(&str, Op, &Lit) -> bool) -> bool {
        match self {
            Self::And(a, b) => a.eval(f) && b.eval(f),
            Self::Or(a, b) => a.eval(f) || b.eval(f),
            Self::Cmp { attr, op, lit } => f(attr, *op, lit),
        }
    }
    /// Whether any comparison is on `attr` with `op` and literal `lit` (used where an `expand`
    /// must be paired with a filter term).
    pub fn mentions(&self, attr: &str, op: Op, lit: &str) -> bool {
        match self {
            Self::And(a, b) | Self::Or(a, b) => {
                a.mentions(attr, op, lit) || b.mentions(attr, op, lit)
            }
            Self::Cmp {
                attr: a,
                op: o,
                lit: Lit::Str(s),
            } => a == attr && *o == op && s == lit,
            Self::Cmp { .. } => false,
        }
    }
}

/// Compares a field with a literal. `fold` makes string comparisons case-insensitive (Okta:
/// `search` values are case-insensitive, `filter` values case-sensitive).
pub fn compare(field: &Field<'_>, op: Op, lit: &Lit, fold: bool) -> bool {
    match (field, lit) {
        (Field::Missing, _) => op == Op::Ne,
        (_, _) if op == Op::Pr => true,
        (Field::Time(a), Lit::Time(b)) => ordering(op, a.cmp(b)),
        (Field::Str(a), Lit::Str(b)) => {
            let (a, b): (Cow<'_, str>, Cow<'_, str>) = if fold {
                (a.to_lowercase().into(), b.to_lowercase().into())
            } else {
                (Cow::Borrowed(a.as_ref()), Cow::Borrowed(b.as_str()))
            };
            match op {
                Op::Co => a.contains(b.as_ref()),
                Op::Sw => a.starts_with(b.as_ref()),
                Op::Ew => a.ends_with(b.as_ref()),
                _ => ordering(op, a.as_ref().cmp(b.as_ref())),
            }
        }
        (Field::Str(a), Lit::Bool(b)) => {
            ordering(op, a.as_ref().cmp(if *b { "true" } else { "false" }))
        }
        _ => op == Op::Ne,
    }
}

fn ordering(op: Op, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => o == Equal,
        Op::Ne => o != Equal,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        _ => false,
    }
}

/// Parses an RFC 3339 timestamp literal such as `2026-01-01T00:00:00.000Z`.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Word(String),
    Str(String),
}

fn tokenize(s: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let mut out = Vec::new();
    let mut it = s.char_indices().peekable();
    while let Some(&(pos, c)) = it.peek() {
        match c {
            c if c.is_whitespace() => {
                it.next();
            }
            '(' => {
                it.next();
                out.push((pos, Tok::LParen));
            }
            ')' => {
                it.next();
                out.push((pos, Tok::RParen));
            }
            '"' => {
                it.next();
                let mut v = String::new();
                let mut closed = false;
                while let Some((_, c)) = it.next() {
                    match c {
                        '\\' => {
                            if let Some((_, e)) = it.next() {
                                v.push(e);
                            }
                        }
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => v.push(c),
                    }
                }
                if !closed {
                    return Err(err(format!("Unterminated string at position {pos}")));
                }
                out.push((pos, Tok::Str(v)));
            }
            '[' | ']' => {
                return Err(err(format!("Unexpected character '{c}' at position {pos}")));
            }
            _ => {
                let mut w = String::new();
                while let Some(&(_, c)) = it.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '"' | '[' | ']') {
                        break;
                    }
                    w.push(c);
                    it.next();
                }
                out.push((pos, Tok::Word(w)));
            }
        }
    }
    Ok(out)
}

fn err(message: String) -> ParseError {
    ParseError { message }
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    len: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.i), Some((_, Tok::Word(x))) if x.eq_ignore_ascii_case(w))
    }
    fn pos(&self) -> usize {
        self.toks.get(self.i).map_or(self.len, |(p, _)| *p)
    }
    fn expr(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.term()?;
        while self.peek_word("or") {
            self.i += 1;
            let right = self.term()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn term(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.factor()?;
        while self.peek_word("and") {
            self.i += 1;
            let right = self.factor()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }
    fn factor(&mut self) -> Result<Expr, ParseError> {
        let pos = self.pos();
        match self.toks.get(self.i).cloned() {
            Some((_, Tok::LParen)) => {
                self.i += 1;
                let e = self.expr()?;
                match self.toks.get(self.i) {
                    Some((_, Tok::RParen)) => {
                        self.i += 1;
                        Ok(e)
                    }
                    _ => Err(err(format!("Expected ')' at position {}", self.pos()))),
                }
            }
            Some((_, Tok::Word(attr)))
                if !attr.eq_ignore_ascii_case("not") && valid_attr(&attr) =>
            {
                self.i += 1;
                let op_pos = self.pos();
                let op = match self.toks.get(self.i) {
                    Some((_, Tok::Word(o))) => Op::parse(o).ok_or_else(|| {
                        err(format!(
                            "Unrecognized attribute operator '{o}' at position {op_pos}. Expected: eq,co,sw,pr,gt,ge,lt,le"
                        ))
                    })?,
                    _ => return Err(err(format!("Expected an operator at position {op_pos}"))),
                };
                self.i += 1;
                if op == Op::Pr {
                    return Ok(Expr::Cmp {
                        attr,
                        op,
                        lit: Lit::Null,
                    });
                }
                let lit_pos = self.pos();
                let lit = match self.toks.get(self.i) {
                    Some((_, Tok::Str(s))) => Lit::Str(s.clone()),
                    Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case("true") => Lit::Bool(true),
                    Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case("false") => Lit::Bool(false),
                    Some((_, Tok::Word(w))) if w.eq_ignore_ascii_case("null") => Lit::Null,
                    Some((_, Tok::Word(w))) if w.parse::<f64>().is_ok() => Lit::Num(w.clone()),
                    _ => return Err(err(format!("Expected a value at position {lit_pos}"))),
                };
                self.i += 1;
                Ok(Expr::Cmp { attr, op, lit })
            }
            _ => Err(err(format!("Expected an attribute at position {pos}"))),
        }
    }
}

fn valid_attr(a: &str) -> bool {
    !a.is_empty()
        && a.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '$' | ':'))
        && a.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// Parses an expression.
pub fn parse(s: &str) -> Result<Expr, ParseError> {
    let toks = tokenize(s)?;
    let mut p = Parser {
        toks,
        i: 0,
        len: s.len(),
    };
    let e = p.expr()?;
    if p.i != p.toks.len() {
        return Err(err(format!("Unexpected token at position {}", p.pos())));
    }
    Ok(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(attr: &str, op: Op, v: &str) -> Expr {
        Expr::Cmp {
            attr: attr.into(),
            op,
            lit: Lit::Str(v.into()),
        }
    }

    #[test]
    fn precedence_and_parens() {
        let e = parse(r#"a eq "1" OR b eq "2" and c eq "3""#).ok();
        let want = Expr::Or(
            Box::new(cmp("a", Op::Eq, "1")),
            Box::new(Expr::And(
                Box::new(cmp("b", Op::Eq, "2")),
                Box::new(cmp("c", Op::Eq, "3")),
            )),
        );
        assert_eq!(e, Some(want));
        let e = parse(r#"(a eq "1" or b eq "x \"y\"") and c pr"#).ok();
        assert!(matches!(e, Some(Expr::And(_, _))));
    }

    #[test]
    fn rejects_bad_input() {
        for s in [
            "",
            "a eqq \"1\"",
            "a eq",
            "not a eq \"1\"",
            "a eq \"1\" and",
            "(a eq \"1\"",
            "a eq \"1",
            "emails[type eq \"work\"]",
            "a eq \"1\" b",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
        let e = parse(r#"display_message eqq "x""#).err().map(|e| e.message);
        assert_eq!(
            e.as_deref(),
            Some(
                "Unrecognized attribute operator 'eqq' at position 16. Expected: eq,co,sw,pr,gt,ge,lt,le"
            )
        );
    }

    #[test]
    fn compares() {
        let s = |v: &str| Field::Str(Cow::Owned(v.into()));
        let l = |v: &str| Lit::Str(v.into());
        assert!(compare(&s("Alice"), Op::Eq, &l("alice"), true));
        assert!(!compare(&s("Alice"), Op::Eq, &l("alice"), false));
        assert!(compare(&s("alice@x"), Op::Sw, &l("ali"), false));
        assert!(compare(&s("alice@x"), Op::Co, &l("e@"), false));
        assert!(!compare(&Field::Missing, Op::Eq, &l("a"), false));
        let t = |v: &str| parse_time(v).map(Lit::Time).unwrap_or(Lit::Null);
        let ft = parse_time("2026-01-02T00:00:00.000Z").map_or(Field::Missing, Field::Time);
        assert!(compare(&ft, Op::Gt, &t("2026-01-01T00:00:00.000Z"), false));
        assert!(!compare(&ft, Op::Lt, &t("2026-01-01T00:00:00.000Z"), false));
        assert!(compare(&ft, Op::Ge, &t("2026-01-02T00:00:00Z"), false));
    }
}
