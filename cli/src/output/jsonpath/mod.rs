//! kubectl's JSONPath template language, for `bosun get -o jsonpath=TEMPLATE` and
//! `--sort-by=EXPR`.
//!
//! A template is literal text with actions in braces. `{EXPR}` prints what the expression
//! selects, several values joined by one space; `{range EXPR}...{end}` repeats its body once
//! per selected value, with that value as the current object; `{"\n"}` or `{'\t'}` prints a
//! quoted string (escapes `\n \t \r \\ \" \'`). Text outside braces is printed as is.
//!
//! Expressions: `$` and `@` (the current object, optional), `.field` (`\.` escapes a dot),
//! `['key.with.dots']` or `["key"]`, `..field` (recursive descent), `[n]`, `[-n]`,
//! `[start:end:step]`, `[*]` and `.*`, unions `[0,2]` and `['a','b']`, and filters
//! `[?(@.status.phase=="Running")]` (`==` `!=` `<` `<=` `>` `>=` against a string, number,
//! boolean or another path; `[?(@.x)]` keeps items that have `x`).
//!
//! Values print as kubectl prints them: strings raw, numbers and booleans as JSON, null as
//! `<nil>`, objects and arrays as compact JSON. As with `kubectl get`, missing keys select
//! nothing and so print nothing. Parse errors name what is wrong and the character position
//! (from 0) where; evaluation cannot fail.
//!
//! - `parse`: text to the syntax tree below.
//! - `eval`: the syntax tree against a [`serde_json::Value`].
use std::fmt;

use serde_json::Value;

mod eval;
mod parse;

/// A parsed JSONPath template (`-o jsonpath=...`).
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    /// Parses a template such as `{range .items[*]}{.metadata.name}{"\n"}{end}`. A bare
    /// expression without braces (`.metadata.name`, as `--sort-by` takes) is literal text
    /// here; parse it with [`Template::parse_expression`].
    pub fn parse(text: &str) -> Result<Template, JsonPathError> {
        Ok(Template {
            nodes: parse::template(text)?,
        })
    }

    /// Parses one expression the way kubectl's `--sort-by` relaxes it: `{.metadata.name}`,
    /// `.metadata.name`, `{metadata.name}` and `metadata.name` all mean the same.
    pub fn parse_expression(text: &str) -> Result<Template, JsonPathError> {
        let steps = parse::expression(text)?;
        Ok(Template {
            nodes: vec![Node::Print(Expr::Path(steps))],
        })
    }

    /// Runs the template on `root`. Missing keys print nothing.
    pub fn render(&self, root: &Value) -> Result<String, JsonPathError> {
        let mut out = String::new();
        eval::render(&self.nodes, root, &mut out);
        Ok(out)
    }
}

/// The values one expression (`.metadata.name` or `{.metadata.name}`, relaxed as in
/// [`Template::parse_expression`]) selects from `root`, for `--sort-by`.
pub fn select<'a>(expr: &str, root: &'a Value) -> Result<Vec<&'a Value>, JsonPathError> {
    Ok(eval::select(&parse::expression(expr)?, root))
}

/// A template or expression that does not parse: what is wrong, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPathError {
    message: String,
    position: usize,
}

impl fmt::Display for JsonPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at position {}", self.message, self.position)
    }
}

impl std::error::Error for JsonPathError {}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// Literal text, printed as is.
    Text(String),
    /// `{EXPR}`.
    Print(Expr),
    /// `{range EXPR}` body `{end}`.
    Range(Expr, Vec<Node>),
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    /// `"text"`, `'text'`, `3`, `-1.5`, `true`.
    Literal(Value),
    /// Steps from the current object; none means the current object itself.
    Path(Vec<Step>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// `.name`: an object's member.
    Field(String),
    /// `['key']`: an object's member; if it has none and the key has dots, the path they
    /// spell (kubectl reads `['metadata.name']` as `.metadata.name`).
    Key(String, Option<Vec<String>>),
    /// `.*` or `[*]`: every element or member value.
    Wildcard,
    /// `..`: the value and every array or object under it, depth first.
    Recursive,
    /// `[n]`, from the end if negative.
    Index(i64),
    /// `[start:end:step]`; step is at least 1.
    Slice(Option<i64>, Option<i64>, usize),
    /// `[a,b]`: each member's selection in turn.
    Union(Vec<Step>),
    /// `[?(...)]`.
    Filter(Box<Filter>),
}

/// `[?(left)]` keeps elements where `left` selects anything; `[?(left OP right)]` those where
/// some selected pair compares true.
#[derive(Debug, Clone, PartialEq)]
struct Filter {
    left: Expr,
    compare: Option<(Op, Expr)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{select, Template};

    /// The input of https://kubernetes.io/docs/reference/kubectl/jsonpath/.
    fn docs_input() -> Value {
        json!({
          "kind": "List",
          "items": [
            {
              "kind": "None",
              "metadata": {
                "name": "127.0.0.1",
                "labels": {"kubernetes.io/hostname": "127.0.0.1"}
              },
              "status": {
                "capacity": {"cpu": "4"},
                "addresses": [{"type": "LegacyHostIP", "address": "127.0.0.1"}]
              }
            },
            {
              "kind": "None",
              "metadata": {"name": "127.0.0.2"},
              "status": {
                "capacity": {"cpu": "8"},
                "addresses": [
                  {"type": "LegacyHostIP", "address": "127.0.0.2"},
                  {"type": "another", "address": "127.0.0.3"}
                ]
              }
            }
          ],
          "users": [
            {"name": "myself", "user": {}},
            {"name": "e2e", "user": {"username": "admin", "password": "secret"}}
          ]
        })
    }

    fn render(template: &str, input: &Value) -> String {
        match Template::parse(template) {
            Ok(t) => t
                .render(input)
                .unwrap_or_else(|e| panic!("{template}: {e}")),
            Err(e) => panic!("{template}: {e}"),
        }
    }

    #[test]
    fn docs_examples() {
        let input = docs_input();
        let cases = [
            ("kind is {.kind}", "kind is List"),
            ("{.kind}", "List"),
            ("{['kind']}", "List"),
            ("{$.kind}", "List"),
            ("{..name}", "127.0.0.1 127.0.0.2 myself e2e"),
            ("{.items[*].metadata.name}", "127.0.0.1 127.0.0.2"),
            ("{.users[0].name}", "myself"),
            (
                "{.items[*]['metadata.name', 'status.capacity']}",
                r#"127.0.0.1 127.0.0.2 {"cpu":"4"} {"cpu":"8"}"#,
            ),
            ("{.users[?(@.name==\"e2e\")].user.password}", "secret"),
            (
                "{range .items[*]}[{.metadata.name}, {.status.capacity}] {end}",
                r#"[127.0.0.1, {"cpu":"4"}] [127.0.0.2, {"cpu":"8"}] "#,
            ),
            (
                "{range .items[*]}{.metadata.name}{'\\t'}{end}",
                "127.0.0.1\t127.0.0.2\t",
            ),
            (
                "{.items[0].metadata.labels.kubernetes\\.io/hostname}",
                "127.0.0.1",
            ),
            ("{.items[0].metadata.name}", "127.0.0.1"),
        ];
        for (template, want) in cases {
            assert_eq!(render(template, &input), want, "{template}");
        }
        assert_eq!(render("{@}", &input), input.to_string());
    }

    #[test]
    fn range_with_newlines_and_nesting() {
        let input = docs_input();
        assert_eq!(
            render(
                r#"{range .items[*]}{.metadata.name}{"\t"}{.kind}{"\n"}{end}"#,
                &input
            ),
            "127.0.0.1\tNone\n127.0.0.2\tNone\n"
        );
        assert_eq!(
            render(
                r#"{range .items[*]}{.metadata.name}:{range .status.addresses[*]} {.address}{end}{"\n"}{end}"#,
                &input
            ),
            "127.0.0.1: 127.0.0.1\n127.0.0.2: 127.0.0.2 127.0.0.3\n"
        );
        // `$` inside a range is the item, as in kubectl.
        assert_eq!(
            render("{range .users[*]}<{$.name}>{end}", &input),
            "<myself><e2e>"
        );
        // kubectl lets a range run to the end of the template without `{end}`.
        assert_eq!(render("{range .users[*]}{.name};", &input), "myself;e2e;");
        assert_eq!(render("a{range .nothing[*]}x{end}b", &input), "ab");
    }

    #[test]
    fn bracket_keys_with_dots() {
        let pod = json!({"metadata": {"annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"a\":1}",
            "team": "x"
        }}});
        let want = "{\"a\":1}";
        for template in [
            "{.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']}",
            r#"{.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]}"#,
            r"{.metadata.annotations['kubectl\.kubernetes\.io/last-applied-configuration']}",
            r"{.metadata.annotations.kubectl\.kubernetes\.io/last-applied-configuration}",
        ] {
            assert_eq!(render(template, &pod), want, "{template}");
        }
        assert_eq!(render("{.metadata['annotations', 'x'].team}", &pod), "x");
    }

    #[test]
    fn missing_keys_print_nothing() {
        let input = docs_input();
        assert_eq!(render("a{.nope}b", &input), "ab");
        assert_eq!(render("{.items[*].nope.deeper}", &input), "");
        assert_eq!(render("{.kind.nope}{.users[7].name}", &input), "");
        assert_eq!(render("{.items[0].metadata.labels['no.such']}", &input), "");
    }

    #[test]
    fn value_formatting() {
        let input = json!({"i": 3, "f": 1.5, "t": true, "n": null, "o": {"b": [1, "x"]}, "e": []});
        let cases = [
            ("{.i}", "3"),
            ("{.f}", "1.5"),
            ("{.t}", "true"),
            ("{.n}", "<nil>"),
            ("{.o}", r#"{"b":[1,"x"]}"#),
            ("{.o.b}", r#"[1,"x"]"#),
            ("{.o.b[*]}", "1 x"),
            ("{.e}", "[]"),
            (r"{'it\'s'}", "it's"),
            (r#"{"q\"\\"}"#, r#"q"\"#),
            ("{7}{true}", "7true"),
        ];
        for (template, want) in cases {
            assert_eq!(render(template, &input), want, "{template}");
        }
    }

    #[test]
    fn text_outside_braces_is_literal() {
        let input = json!({"a": "A"});
        assert_eq!(render(r"x\ny\t{.a}}", &input), r"x\ny\tA}");
        assert_eq!(render("", &input), "");
    }

    #[test]
    fn expressions_for_sort_by() {
        let input = docs_input();
        for expr in [
            ".items[0].metadata.name",
            "{.items[0].metadata.name}",
            "items[0].metadata.name",
            "{items[0].metadata.name}",
            " $.items[0].metadata.name ",
        ] {
            let got = select(expr, &input).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(got, vec![&json!("127.0.0.1")], "{expr}");
        }
        let names = select(".users[*].name", &input).map(|v| v.len());
        assert_eq!(names, Ok(2));
        let template = Template::parse_expression(".users[-1].name");
        assert_eq!(template.and_then(|t| t.render(&input)), Ok("e2e".into()));
        let err = select("{.a b}", &input).map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err("unrecognized character in expression: U+0062 'b' at position 4".into())
        );
        let err = select(r#""x""#, &input).map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err("unrecognized character in expression: U+0022 '\"' at position 0".into())
        );
    }
}
