//! `bosun top`: asks every node's agent for its CPU and memory figures, at once, and gathers
//! what arrives within a deadline. The leader asks the agents whose sessions it holds, and
//! each other master for the nodes whose sessions it holds.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::{master_message, StatsRequest, TopRequest, TopResponse};
use bosun_shared::Kind;

use super::relay::Route;
use super::ApiService;
use crate::dispatcher::registry::Answers;
use crate::dispatcher::Registry;

/// How long the agents get to measure (a CPU figure needs two samples a second apart).
const DEADLINE: Duration = Duration::from_secs(5);

/// On the leader: the figures of the nodes in `only` (empty: every node), from wherever their
/// sessions are held.
pub async fn gather(api: &ApiService, only: Vec<String>) -> TopResponse {
    let nodes: Vec<String> = if only.is_empty() {
        let (nodes, _) = api.store.select(Kind::Node, None, |_| true);
        nodes.iter().map(|n| n.meta().name.to_string()).collect()
    } else {
        only
    };
    let mut here = Vec::new();
    let mut elsewhere: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for node in nodes {
        match api.registry.holder(&node) {
            Some(master) => elsewhere.entry(master).or_default().push(node),
            None => here.push(node),
        }
    }
    let local = gather_here(&api.registry, here);
    let remote =
        futures::future::join_all(elsewhere.into_iter().map(|(master, nodes)| async move {
            let asked = TopRequest {
                nodes: nodes.clone(),
            };
            let answer = match api.master_api(&master) {
                Ok(mut client) => {
                    let call = client.top(Route::request(true, asked));
                    tokio::time::timeout(DEADLINE * 2, call)
                        .await
                        .ok()
                        .and_then(Result::ok)
                }
                Err(_) => None,
            };
            answer.map_or_else(
                || TopResponse {
                    nodes: Vec::new(),
                    unreachable: nodes,
                },
                tonic::Response::into_inner,
            )
        }));
    let (mut out, remote) = tokio::join!(local, remote);
    for r in remote {
        out.nodes.extend(r.nodes);
        out.unreachable.extend(r.unreachable);
    }
    out.unreachable.sort();
    out
}

/// The figures of `nodes` whose sessions this master holds; the others are unreachable.
pub async fn gather_here(registry: &Arc<Registry>, nodes: Vec<String>) -> TopResponse {
    let mut asked = Vec::new();
    let mut unreachable = Vec::new();
    for name in nodes {
        match Answers::open(registry, &name, |id| {
            master_message::Msg::StatsRequest(StatsRequest { request_id: id })
        }) {
            Ok(a) => asked.push(a),
            Err(_) => unreachable.push(name),
        }
    }
    let answers = futures::future::join_all(asked.into_iter().map(|mut a| async move {
        let got = tokio::time::timeout(DEADLINE, async {
            let mut data = Vec::new();
            while let Some(item) = a.recv().await {
                let d = item.ok()?;
                data.extend_from_slice(&d.data);
                if d.eof {
                    return Some(data);
                }
            }
            None
        })
        .await;
        (a.node().to_string(), got.ok().flatten())
    }))
    .await;
    let mut out = TopResponse::default();
    for (node, data) in answers {
        match data {
            Some(d) => out.nodes.push(d),
            None => unreachable.push(node),
        }
    }
    unreachable.sort();
    out.unreachable = unreachable;
    out
}
