//! Parsing of JSONPath templates and expressions into the syntax tree of `mod.rs`.
//!
//! Error messages follow kubectl's (`unclosed action`, `unrecognized character in action:
//! U+0021 '!'`, `unterminated quoted string`, ...) plus the position, in characters.
use serde_json::{Number, Value};

use super::{Expr, Filter, JsonPathError, Node, Op, Step};

type Result<T> = std::result::Result<T, JsonPathError>;

/// How deeply ranges, and filters, may nest: deep enough for any real template, shallow
/// enough that evaluation cannot overflow the stack.
const MAX_NESTING: usize = 32;

/// Parses a whole template: text with `{...}` actions.
pub(super) fn template(text: &str) -> Result<Vec<Node>> {
    let mut p = Parser::new(text, 0);
    // The ranges not yet ended: each one's expression and the nodes before it.
    let mut open: Vec<(Expr, Vec<Node>)> = Vec::new();
    let mut nodes = Vec::new();
    loop {
        let start = p.pos;
        while p.peek().is_some_and(|c| c != '{') {
            p.pos += 1;
        }
        if p.pos > start {
            nodes.push(Node::Text(p.text(start, p.pos)));
        }
        let brace = p.pos;
        if p.bump().is_none() {
            break;
        }
        match p.action(brace)? {
            Action::Print(expr) => nodes.push(Node::Print(expr)),
            Action::Range(expr) => {
                if open.len() >= MAX_NESTING {
                    return Err(p.err(brace, "ranges nested too deeply"));
                }
                open.push((expr, std::mem::take(&mut nodes)));
            }
            Action::End => {
                let (expr, before) = open
                    .pop()
                    .ok_or_else(|| p.err(brace, "not in range, nothing to end"))?;
                let body = std::mem::replace(&mut nodes, before);
                nodes.push(Node::Range(expr, body));
            }
        }
    }
    // As in kubectl, a range without `{end}` runs to the end of the template.
    while let Some((expr, before)) = open.pop() {
        let body = std::mem::replace(&mut nodes, before);
        nodes.push(Node::Range(expr, body));
    }
    Ok(nodes)
}

/// Parses one path the way kubectl relaxes `--sort-by`: optional braces around it and an
/// optional leading dot.
pub(super) fn expression(text: &str) -> Result<Vec<Step>> {
    let trimmed = text.trim();
    let lead = text.chars().count() - text.trim_start().chars().count();
    let (inner, offset) = match trimmed.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        Some(inner) => (inner, lead + 1),
        None => (trimmed, lead),
    };
    let mut p = Parser::new(inner, offset);
    p.skip_ws();
    let mut steps = Vec::new();
    if p.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
        steps.push(Step::Field(p.name()));
    }
    steps.extend(p.path()?);
    p.skip_ws();
    match p.peek() {
        None => Ok(steps),
        Some(c) => Err(p.err(
            p.pos,
            format!("unrecognized character in expression: {}", describe(c)),
        )),
    }
}

enum Action {
    Print(Expr),
    Range(Expr),
    End,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Added to positions in errors: where `chars` starts in the text the user wrote.
    offset: usize,
    /// Filters open around the current position.
    depth: usize,
}

impl Parser {
    fn new(text: &str, offset: usize) -> Parser {
        Parser {
            chars: text.chars().collect(),
            pos: 0,
            offset,
            depth: 0,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.pos += 1;
        }
        found
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.chars
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn err(&self, pos: usize, message: impl Into<String>) -> JsonPathError {
        JsonPathError {
            message: message.into(),
            position: pos + self.offset,
        }
    }

    /// `what` is missing at the current position; `open` is where the construct began.
    fn expected(&self, open: usize, construct: &str, what: &str) -> JsonPathError {
        match self.peek() {
            None => self.err(open, format!("unterminated {construct}")),
            Some(c) => self.err(self.pos, format!("expected {what}, found {}", describe(c))),
        }
    }

    /// The inside of `{...}`, whose `{` is at `brace` and already consumed.
    fn action(&mut self, brace: usize) -> Result<Action> {
        self.skip_ws();
        let start = self.pos;
        let action = match self.word().as_str() {
            "range" => Action::Range(self.expr()?),
            "end" => Action::End,
            _ => {
                self.pos = start;
                Action::Print(self.expr()?)
            }
        };
        self.skip_ws();
        match self.bump() {
            Some('}') => Ok(action),
            None => Err(self.err(brace, "unclosed action")),
            Some(c) => Err(self.err(
                self.pos - 1,
                format!("unrecognized character in action: {}", describe(c)),
            )),
        }
    }

    /// Letters, digits and `_`: `range`, `end`, `true`, ...
    fn word(&mut self) -> String {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.pos += 1;
        }
        self.text(start, self.pos)
    }

    /// A literal or a path.
    fn expr(&mut self) -> Result<Expr> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(quote @ ('"' | '\'')) => {
                let raw = self.quoted(quote)?;
                Ok(Expr::Literal(Value::String(
                    self.unescape(&raw, start + 1)?,
                )))
            }
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_alphabetic() || c == '_' => {
                let word = self.word();
                match word.as_str() {
                    "true" => Ok(Expr::Literal(Value::Bool(true))),
                    "false" => Ok(Expr::Literal(Value::Bool(false))),
                    _ if self.peek() == Some('(') => Err(self.err(
                        start,
                        format!("unrecognized function {word:?}: JSONPath has no functions"),
                    )),
                    _ => Err(self.err(start, format!("unrecognized identifier {word}"))),
                }
            }
            _ => Ok(Expr::Path(self.path()?)),
        }
    }

    fn number(&mut self) -> Result<Expr> {
        let start = self.pos;
        self.pos += 1;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-'))
        {
            self.pos += 1;
        }
        let text = self.text(start, self.pos);
        let number = match text.parse::<i64>() {
            Ok(n) => Some(Number::from(n)),
            Err(_) => text.parse::<f64>().ok().and_then(Number::from_f64),
        };
        number
            .map(|n| Expr::Literal(Value::Number(n)))
            .ok_or_else(|| self.err(start, format!("invalid number {text}")))
    }

    /// The body of a quoted string, escapes kept as written; `self.pos` is at the quote.
    fn quoted(&mut self, quote: char) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut raw = String::new();
        loop {
            match self.bump() {
                None => return Err(self.err(start, "unterminated quoted string")),
                Some(c) if c == quote => return Ok(raw),
                Some('\\') => {
                    raw.push('\\');
                    match self.bump() {
                        Some(c) => raw.push(c),
                        None => return Err(self.err(start, "unterminated quoted string")),
                    }
                }
                Some(c) => raw.push(c),
            }
        }
    }

    /// Interprets `\n \t \r \\ \" \'` in a string literal whose body starts at `first`.
    fn unescape(&self, raw: &str, first: usize) -> Result<String> {
        let mut out = String::new();
        let mut chars = raw.chars().enumerate();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            out.push(match chars.next() {
                Some((_, 'n')) => '\n',
                Some((_, 't')) => '\t',
                Some((_, 'r')) => '\r',
                Some((_, e @ ('\\' | '"' | '\''))) => e,
                Some((_, e)) => {
                    return Err(self.err(first + i, format!("invalid escape \\{e} in string")))
                }
                None => '\\',
            });
        }
        Ok(out)
    }

    /// `.`, `..` and `[...]` steps, with `$` and `@` (the current object) allowed anywhere.
    fn path(&mut self) -> Result<Vec<Step>> {
        let mut steps = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                Some('$' | '@') => self.pos += 1,
                Some('.') => {
                    self.pos += 1;
                    if self.eat('.') {
                        steps.push(Step::Recursive);
                    }
                    if self.eat('*') {
                        steps.push(Step::Wildcard);
                    } else {
                        let name = self.name();
                        if !name.is_empty() {
                            steps.push(Step::Field(name));
                        }
                    }
                }
                Some('[') => steps.push(self.bracket()?),
                _ => return Ok(steps),
            }
        }
    }

    /// A field name: up to a terminator, with `\` making the next character literal.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if is_terminator(c) {
                break;
            }
            self.pos += 1;
            if c == '\\' {
                name.extend(self.bump());
            } else {
                name.push(c);
            }
        }
        name
    }

    /// `[...]`: an index, slice, key, `*`, a union of those, or a filter.
    fn bracket(&mut self) -> Result<Step> {
        let open = self.pos;
        self.pos += 1;
        self.skip_ws();
        if self.eat('?') {
            return self.filter(open);
        }
        let mut members = Vec::new();
        loop {
            members.push(self.subscript(open)?);
            self.skip_ws();
            if !self.eat(',') {
                break;
            }
        }
        if !self.eat(']') {
            return Err(self.expected(open, "array", "\",\" or \"]\""));
        }
        Ok(match <[Step; 1]>::try_from(members) {
            Ok([one]) => one,
            Err(members) => Step::Union(members),
        })
    }

    fn subscript(&mut self, open: usize) -> Result<Step> {
        self.skip_ws();
        match self.peek() {
            Some('*') => {
                self.pos += 1;
                Ok(Step::Wildcard)
            }
            Some(quote @ ('\'' | '"')) => {
                let raw = self.quoted(quote)?;
                let (key, parts) = key_and_parts(&raw);
                Ok(Step::Key(key, (parts.len() > 1).then_some(parts)))
            }
            Some(c) if matches!(c, ':' | '-' | '+') || c.is_ascii_digit() => self.slice(),
            _ => Err(self.expected(open, "array", "an array index, a quoted key, * or ?(...)")),
        }
    }

    /// `n`, `start:end` or `start:end:step`, each part optional but the first alone.
    fn slice(&mut self) -> Result<Step> {
        let start = self.pos;
        let from = self.int()?;
        if !self.eat(':') {
            return from
                .map(Step::Index)
                .ok_or_else(|| self.err(start, "invalid array index"));
        }
        let to = self.int()?;
        let step = if self.eat(':') { self.int()? } else { None };
        match step.map(usize::try_from) {
            None => Ok(Step::Slice(from, to, 1)),
            Some(Ok(step)) if step > 0 => Ok(Step::Slice(from, to, step)),
            Some(_) => Err(self.err(start, "step must be > 0")),
        }
    }

    fn int(&mut self) -> Result<Option<i64>> {
        self.skip_ws();
        let start = self.pos;
        if matches!(self.peek(), Some('-' | '+')) {
            self.pos += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        let text = self.text(start, self.pos);
        self.skip_ws();
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse() {
            Ok(n) => Ok(Some(n)),
            Err(_) => Err(self.err(start, format!("array index {text} is not a number"))),
        }
    }

    /// `?(left)` or `?(left OP right)]`; `open` is the `[`, `self.pos` just after the `?`.
    fn filter(&mut self, open: usize) -> Result<Step> {
        self.skip_ws();
        if !self.eat('(') {
            return Err(self.expected(open, "filter", "\"(\" after \"[?\""));
        }
        if self.depth >= MAX_NESTING {
            return Err(self.err(open, "filters nested too deeply"));
        }
        self.depth += 1;
        let left = self.expr()?;
        self.skip_ws();
        let op_start = self.pos;
        while self
            .peek()
            .is_some_and(|c| matches!(c, '=' | '!' | '<' | '>'))
        {
            self.pos += 1;
        }
        let op = self.text(op_start, self.pos);
        let compare = if op.is_empty() {
            None
        } else {
            let parsed = match op.as_str() {
                "==" => Op::Eq,
                "!=" => Op::Ne,
                "<" => Op::Lt,
                "<=" => Op::Le,
                ">" => Op::Gt,
                ">=" => Op::Ge,
                _ => return Err(self.err(op_start, format!("unrecognized filter operator {op}"))),
            };
            self.skip_ws();
            if matches!(self.peek(), None | Some(')' | ']')) {
                return Err(self.err(self.pos, format!("missing value after {op} in filter")));
            }
            Some((parsed, self.expr()?))
        };
        self.depth -= 1;
        self.skip_ws();
        if !self.eat(')') {
            return Err(self.expected(open, "filter", "\")\" to close the filter"));
        }
        self.skip_ws();
        if !self.eat(']') {
            return Err(self.expected(open, "filter", "\"]\" after the filter"));
        }
        Ok(Step::Filter(Box::new(Filter { left, compare })))
    }
}

/// Ends a field name. kubectl's set, plus the filter operators and parentheses.
fn is_terminator(c: char) -> bool {
    c.is_whitespace() || ".,[]$@{}()=!<>".contains(c)
}

/// A bracket key with each `\x` read as `x`, and its parts split at unescaped dots.
fn key_and_parts(raw: &str) -> (String, Vec<String>) {
    let (mut key, mut part, mut parts) = (String::new(), String::new(), Vec::new());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    key.push(escaped);
                    part.push(escaped);
                }
            }
            '.' => {
                key.push('.');
                parts.push(std::mem::take(&mut part));
            }
            _ => {
                key.push(c);
                part.push(c);
            }
        }
    }
    parts.push(part);
    (key, parts)
}

/// A character as Go's `%#U` prints it: `U+0021 '!'`.
fn describe(c: char) -> String {
    format!("U+{:04X} '{c}'", u32::from(c))
}

#[cfg(test)]
mod tests {
    use super::super::Template;

    fn error(template: &str) -> String {
        match Template::parse(template) {
            Ok(t) => panic!("{template} parsed: {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn error_messages() {
        let cases = [
            ("kind is {.kind", "unclosed action at position 8"),
            ("{.a!}", "unrecognized character in action: U+0021 '!' at position 3"),
            ("{.a,.b}", "unrecognized character in action: U+002C ',' at position 3"),
            (
                "{length(.items)}",
                "unrecognized function \"length\": JSONPath has no functions at position 1",
            ),
            ("{foo}", "unrecognized identifier foo at position 1"),
            ("x{end}", "not in range, nothing to end at position 1"),
            ("{\"abc}", "unterminated quoted string at position 1"),
            (r#"{"a\qb"}"#, r"invalid escape \q in string at position 3"),
            ("{.a[0}", "expected \",\" or \"]\", found U+007D '}' at position 5"),
            ("{.a[0", "unterminated array at position 3"),
            (
                "{.a[x]}",
                "expected an array index, a quoted key, * or ?(...), found U+0078 'x' at position 4",
            ),
            ("{.a[::0]}", "step must be > 0 at position 4"),
            ("{.a[1:2:-1]}", "step must be > 0 at position 4"),
            ("{.a[-]}", "array index - is not a number at position 4"),
            (
                "{.a[99999999999999999999]}",
                "array index 99999999999999999999 is not a number at position 4",
            ),
            ("{.a[?(@.b === 1)]}", "unrecognized filter operator === at position 10"),
            ("{.a[?(@.b = 1)]}", "unrecognized filter operator = at position 10"),
            ("{.a[?(@.b == )]}", "missing value after == in filter at position 13"),
            (
                "{.a[?(@.b == Running)]}",
                "unrecognized identifier Running at position 13",
            ),
            (
                "{.a[?(@.b == 1}",
                "expected \")\" to close the filter, found U+007D '}' at position 14",
            ),
            ("{.a[?(@.b == 1", "unterminated filter at position 3"),
            (
                "{.a[?(@.b == 1)}",
                "expected \"]\" after the filter, found U+007D '}' at position 15",
            ),
            ("{.a[?@.b]}", "expected \"(\" after \"[?\", found U+0040 '@' at position 5"),
            ("{1e999}", "invalid number 1e999 at position 1"),
            ("{-}", "invalid number - at position 1"),
            ("ü{ü}", "unrecognized identifier ü at position 2"),
        ];
        for (template, want) in cases {
            assert_eq!(error(template), want, "{template}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let ranges = "{range @}".repeat(40);
        assert_eq!(error(&ranges), "ranges nested too deeply at position 288");
        let filters = format!("{{.a{}", "[?(@.a".repeat(40));
        assert_eq!(error(&filters), "filters nested too deeply at position 195");
    }

    /// Every short string over the characters that matter parses or fails, never panics.
    #[test]
    fn no_panics_on_any_input() {
        let alphabet: Vec<char> = "{}[]()'\"\\.:,?@$*-1 a=!<>ü".chars().collect();
        let input = serde_json::json!({"a": [1, {"a": "x"}], "1": null});
        let mut text = String::new();
        for a in &alphabet {
            for b in &alphabet {
                for c in &alphabet {
                    for d in ['{', '.', ']', 'a'] {
                        text.clear();
                        text.extend([d, *a, *b, *c]);
                        if let Ok(t) = Template::parse(&text) {
                            let _ = t.render(&input);
                        }
                        let _ = super::super::select(&text, &input);
                    }
                }
            }
        }
    }
}
