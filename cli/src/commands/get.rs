//! `bosun get KIND [NAME] [-l SELECTOR] [-o FORMAT] [-A] [--sort-by EXPR] [-w]`.
use std::cmp::Ordering;
use std::time::SystemTime;

use bosun_shared::selector::LabelSelector;
use bosun_shared::Object;
use futures::StreamExt;
use serde_json::Value;

use crate::commands::{emit, namespace_for, split_kind_name};
use crate::output::{jsonpath, render, Format};
use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// pods (po), deployments (deploy), nodes (no), ... (`bosun api-resources`); or KIND/NAME.
    pub kind: String,
    pub name: Option<String>,
    /// Label selector, e.g. app=web,tier!=db.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Output format: wide, json, yaml, name, jsonpath=TEMPLATE.
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Sort the list by a JSONPath expression, e.g. `.metadata.creationTimestamp`.
    #[arg(long)]
    pub sort_by: Option<String>,
    /// After listing, print each change as it happens (until interrupted).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Tables without their header line.
    #[arg(long)]
    pub no_headers: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let format: Format = args.output.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let (kind, name) = split_kind_name(&args.kind, args.name.as_deref())?;
    let selector = args
        .selector
        .as_deref()
        .map(LabelSelector::parse)
        .transpose()
        .map_err(|e| anyhow::anyhow!("unable to parse requirement: {e}"))?;
    if let Some(expr) = &args.sort_by {
        jsonpath::Template::parse_expression(expr)
            .map_err(|e| anyhow::anyhow!("couldn't parse --sort-by {expr}: {e}"))?;
    }
    let ns = namespace_for(kind, &ctx.namespace);
    let client = ctx.client().await?;
    let all = args.all_namespaces || !kind.namespaced();
    let show_namespace = args.all_namespaces && kind.namespaced();
    let (objects, revision) = if let Some(name) = &name {
        // Watched from the revision it was read at: its own resourceVersion may be older than
        // the store's watch history reaches (any object unchanged for 20,000 writes).
        let (obj, mut rev) = client.get_at(kind, &ns, name).await?;
        if rev == 0 {
            // A master from before Get answered its revision.
            rev = obj.meta().revision();
        }
        let text = render(kind, &[obj], &format, true, false, SystemTime::now());
        emit(rows(&text, &format, args.no_headers))?;
        (Vec::new(), rev)
    } else {
        let namespace = (!all).then_some(ns.as_str());
        let (mut objects, revision) = client
            .list(kind, namespace, args.selector.as_deref())
            .await?;
        if let Some(expr) = &args.sort_by {
            sort_by(&mut objects, expr);
        }
        (objects, revision)
    };
    if name.is_none() {
        if objects.is_empty() && matches!(format, Format::Table | Format::Wide) {
            if all {
                eprintln!("No resources found");
            } else {
                eprintln!("No resources found in {ns} namespace.");
            }
        } else {
            let now = SystemTime::now();
            let text = render(kind, &objects, &format, false, show_namespace, now);
            emit(rows(&text, &format, args.no_headers))?;
        }
    }
    if !args.watch {
        return Ok(());
    }
    // Changes after what was printed, one row (or document) each, as kubectl's -w.
    let namespace = (!all).then_some(ns.as_str());
    let mut changes = client.watch(Some(kind), namespace, revision).await?;
    while let Some(event) = changes.next().await {
        let event = event?;
        let o = &event.object;
        if name.as_ref().is_some_and(|n| o.meta().name != n)
            || selector
                .as_ref()
                .is_some_and(|s| !s.matches(&o.meta().labels))
        {
            continue;
        }
        let text = render(
            kind,
            std::slice::from_ref(o),
            &format,
            true,
            show_namespace,
            SystemTime::now(),
        );
        // Rows only: the header was printed with the list.
        emit(rows(&text, &format, true))?;
    }
    Ok(())
}

/// `text` as rendered, without a table's header line when `no_headers`.
fn rows<'a>(text: &'a str, format: &Format, no_headers: bool) -> &'a str {
    match format {
        Format::Table | Format::Wide if no_headers => {
            text.split_once('\n').map_or("", |(_, rows)| rows)
        }
        _ => text,
    }
}

/// Sorts by the first value `expr` selects in each object: numbers by value, everything
/// else by its text; objects without the field first, as kubectl puts them.
fn sort_by(objects: &mut [Object], expr: &str) {
    let key = |o: &Object| -> Option<Value> {
        let v = o.to_value();
        jsonpath::select(expr, &v)
            .ok()
            .and_then(|found| found.first().map(|v| (*v).clone()))
    };
    let mut keyed: Vec<(Option<Value>, Object)> =
        objects.iter().map(|o| (key(o), o.clone())).collect();
    keyed.sort_by(|(a, _), (b, _)| compare(a.as_ref(), b.as_ref()));
    for (slot, (_, o)) in objects.iter_mut().zip(keyed) {
        *slot = o;
    }
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Some(x), Some(y)) => text(x).cmp(&text(y)),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::pod::Pod;

    fn pod(name: &str, restarts: Option<i64>) -> Object {
        let mut v = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        });
        if let Some(r) = restarts {
            v["metadata"]["annotations"] = serde_json::json!({"n": r.to_string()});
            v["spec"]["terminationGracePeriodSeconds"] = serde_json::json!(r);
        }
        let p: Pod = serde_json::from_value(v).unwrap();
        p.into()
    }

    #[test]
    fn sorts_numbers_by_value_and_puts_missing_fields_first() {
        let mut pods = vec![pod("a", Some(10)), pod("b", None), pod("c", Some(9))];
        sort_by(&mut pods, ".spec.terminationGracePeriodSeconds");
        let names: Vec<_> = pods.iter().map(|p| p.meta().name.clone()).collect();
        assert_eq!(names, ["b", "c", "a"]);
        // As text, "10" sorts before "9".
        sort_by(&mut pods, "{.metadata.annotations.n}");
        let names: Vec<_> = pods.iter().map(|p| p.meta().name.clone()).collect();
        assert_eq!(names, ["b", "a", "c"]);
    }
}
