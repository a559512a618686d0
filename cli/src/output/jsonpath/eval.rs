//! Evaluation of a parsed template against a JSON value.
//!
//! Nothing here fails: as with `kubectl get` (`allowMissingKeys`), a step that finds nothing
//! (a missing key, an index past the end, a field of an array) selects nothing.
use std::cmp::Ordering;

use serde_json::Value;

use super::{Expr, Filter, Node, Op, Step};

/// Appends what `nodes` print for `current` to `out`.
pub(super) fn render(nodes: &[Node], current: &Value, out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Print(expr) => {
                for (i, value) in values(expr, current).into_iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    print(value, out);
                }
            }
            Node::Range(expr, body) => {
                for item in values(expr, current) {
                    render(body, item, out);
                }
            }
        }
    }
}

/// One value as kubectl prints it.
fn print(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => out.push_str(text),
        Value::Null => out.push_str("<nil>"),
        other => out.push_str(&other.to_string()),
    }
}

fn values<'a>(expr: &'a Expr, current: &'a Value) -> Vec<&'a Value> {
    match expr {
        Expr::Literal(value) => vec![value],
        Expr::Path(steps) => select(steps, current),
    }
}

/// What a path selects from `current`.
pub(super) fn select<'a>(steps: &[Step], current: &'a Value) -> Vec<&'a Value> {
    steps
        .iter()
        .fold(vec![current], |input, step| apply(step, &input))
}

fn apply<'a>(step: &Step, input: &[&'a Value]) -> Vec<&'a Value> {
    let mut out = Vec::new();
    match step {
        // kubectl takes each member across all the input in turn.
        Step::Union(members) => {
            for member in members {
                out.extend(apply(member, input));
            }
        }
        _ => {
            for value in input {
                apply_one(step, value, &mut out);
            }
        }
    }
    out
}

fn apply_one<'a>(step: &Step, value: &'a Value, out: &mut Vec<&'a Value>) {
    match step {
        Step::Field(name) => out.extend(value.get(name)),
        Step::Key(key, dotted) => match (value.get(key), dotted) {
            (Some(found), _) => out.push(found),
            (None, Some(parts)) => out.extend(parts.iter().try_fold(value, |v, p| v.get(p))),
            (None, None) => {}
        },
        Step::Wildcard => out.extend(children(value)),
        Step::Recursive => descend(value, out),
        Step::Index(index) => {
            if let Some(items) = value.as_array() {
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let at = if *index < 0 {
                    index.saturating_add(len)
                } else {
                    *index
                };
                out.extend(usize::try_from(at).ok().and_then(|at| items.get(at)));
            }
        }
        Step::Slice(from, to, step) => {
            if let Some(items) = value.as_array() {
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let bound = |i: i64| {
                    let i = if i < 0 {
                        i.saturating_add(len).max(0)
                    } else {
                        i.min(len)
                    };
                    usize::try_from(i).unwrap_or(0)
                };
                let from = from.map_or(0, bound);
                let to = to.map_or(items.len(), bound);
                if let Some(slice) = items.get(from..to) {
                    out.extend(slice.iter().step_by((*step).max(1)));
                }
            }
        }
        Step::Filter(filter) => out.extend(children(value).filter(|c| keeps(filter, c))),
        Step::Union(_) => out.extend(apply(step, &[value])),
    }
}

/// An array's elements or an object's member values.
fn children(value: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match value {
        Value::Array(items) => Box::new(items.iter()),
        Value::Object(members) => Box::new(members.values()),
        _ => Box::new(std::iter::empty()),
    }
}

/// `value` and everything under it that has children, depth first (kubectl's `..`).
fn descend<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    let mut children = children(value).peekable();
    if children.peek().is_some() {
        out.push(value);
        for child in children {
            descend(child, out);
        }
    }
}

fn keeps(filter: &Filter, item: &Value) -> bool {
    let lefts = values(&filter.left, item);
    match &filter.compare {
        None => !lefts.is_empty(),
        Some((op, right)) => {
            let rights = values(right, item);
            lefts
                .iter()
                .any(|l| rights.iter().any(|r| compare(*op, l, r)))
        }
    }
}

fn compare(op: Op, left: &Value, right: &Value) -> bool {
    let ordering = order(left, right);
    match op {
        Op::Eq => ordering.map_or(left == right, Ordering::is_eq),
        Op::Ne => !ordering.map_or(left == right, Ordering::is_eq),
        Op::Lt => ordering.is_some_and(Ordering::is_lt),
        Op::Le => ordering.is_some_and(Ordering::is_le),
        Op::Gt => ordering.is_some_and(Ordering::is_gt),
        Op::Ge => ordering.is_some_and(Ordering::is_ge),
    }
}

/// Numbers order by value (`1 == 1.0`), strings bytewise; nothing else orders.
fn order(left: &Value, right: &Value) -> Option<Ordering> {
    match (left, right) {
        (Value::Number(l), Value::Number(r)) => match (l.as_i64(), r.as_i64()) {
            (Some(l), Some(r)) => Some(l.cmp(&r)),
            _ => l.as_f64()?.partial_cmp(&r.as_f64()?),
        },
        (Value::String(l), Value::String(r)) => Some(l.cmp(r)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::Template;

    fn pods() -> Value {
        json!({"items": [
            {"name": "a", "phase": "Running", "restarts": 0, "ready": true, "node": "n1"},
            {"name": "b", "phase": "Pending", "restarts": 3, "ready": false},
            {"name": "c", "phase": "Running", "restarts": 12, "ready": true, "cpu": 0.5, "node": "n1"},
            {"name": "d", "phase": "Failed", "restarts": 1.5, "ready": false, "node": "d"}
        ]})
    }

    fn check(input: &Value, cases: &[(&str, &str)]) {
        for (template, want) in cases {
            let got = Template::parse(template).and_then(|t| t.render(input));
            assert_eq!(got.as_deref(), Ok(*want), "{template}");
        }
    }

    #[test]
    fn filters() {
        check(
            &pods(),
            &[
                (r#"{.items[?(@.phase=="Running")].name}"#, "a c"),
                ("{.items[?(@.phase != 'Running')].name}", "b d"),
                ("{.items[?(@.restarts > 1)].name}", "b c d"),
                ("{.items[?(@.restarts >= 3)].name}", "b c"),
                ("{.items[?(@.restarts < 1.5)].name}", "a"),
                ("{.items[?(@.restarts <= 1.5)].name}", "a d"),
                ("{.items[?(@.restarts == 3.0)].name}", "b"),
                ("{.items[?(@.ready == true)].name}", "a c"),
                ("{.items[?(@.ready!=true)].name}", "b d"),
                ("{.items[?(@.name < 'b')].name}", "a"),
                ("{.items[?(@.cpu)].name}", "c"),
                ("{.items[?(@.node == @.name)].name}", "d"),
                // Types that do not compare are unequal and unordered.
                ("{.items[?(@.phase > 1)].name}", ""),
                ("{.items[?(@.ready != 'true')].name}", "a b c d"),
                (
                    "{range .items[?(@.node)]}{.name}={.node};{end}",
                    "a=n1;c=n1;d=d;",
                ),
            ],
        );
    }

    #[test]
    fn indexes_and_slices() {
        let input = json!({"a": [0, 1, 2, 3, 4], "o": {"x": 1}});
        check(
            &input,
            &[
                ("{.a[0]}", "0"),
                ("{.a[-1]}", "4"),
                ("{.a[-5]}", "0"),
                ("{.a[5]}{.a[-6]}{.o[0]}", ""),
                ("{.a[1:3]}", "1 2"),
                ("{.a[:2]}", "0 1"),
                ("{.a[3:]}", "3 4"),
                ("{.a[-2:]}", "3 4"),
                ("{.a[:-3]}", "0 1"),
                ("{.a[::2]}", "0 2 4"),
                ("{.a[1:5:3]}", "1 4"),
                ("{.a[0:100]}", "0 1 2 3 4"),
                ("{.a[3:1]}{.a[-100:0]}", ""),
                ("{.a[:]}", "0 1 2 3 4"),
                ("{.a[*]}", "0 1 2 3 4"),
                ("{.a[0,2,-1]}", "0 2 4"),
                ("{.a[ 0 , 1:3 ]}", "0 1 2"),
                ("{.o.*}{.o[*]}", "11"),
            ],
        );
    }

    #[test]
    fn recursive_descent() {
        let input = json!({
            "spec": {"containers": [{"name": "web", "image": "nginx"}, {"name": "log", "image": "busybox"}]},
            "status": {"containerStatuses": [{"name": "web", "image": "nginx:1"}]}
        });
        check(
            &input,
            &[
                ("{..image}", "nginx busybox nginx:1"),
                ("{.spec..name}", "web log"),
                ("{..containers[-1].name}", "log"),
                ("{..containerStatuses..image}", "nginx:1"),
                (
                    "{.status..*}",
                    r#"[{"image":"nginx:1","name":"web"}] {"image":"nginx:1","name":"web"} nginx:1 web"#,
                ),
                ("{..[?(@.name=='log')].image}", "busybox"),
            ],
        );
    }
}
