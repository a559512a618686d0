//! `bosun top`: asks every connected agent for its CPU and memory figures, at once, and
//! gathers what arrives within a deadline.
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::{master_message, StatsRequest, TopResponse};
use bosun_shared::Kind;
use tonic::Status;

use crate::dispatcher::registry::Answers;
use crate::dispatcher::Registry;
use crate::store::Store;

/// How long the agents get to measure (a CPU figure needs two samples a second apart).
const DEADLINE: Duration = Duration::from_secs(5);

pub async fn gather(store: &Store, registry: &Arc<Registry>) -> Result<TopResponse, Status> {
    let (nodes, _) = store.select(Kind::Node, None, |_| true);
    let mut asked = Vec::new();
    let mut unreachable = Vec::new();
    for n in nodes {
        let name = n.meta().name.clone();
        match Answers::open(registry, &name, |id| {
            master_message::Msg::StatsRequest(StatsRequest { request_id: id })
        }) {
            Ok(a) => asked.push(a),
            Err(_) => unreachable.push(name.to_string()),
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
    Ok(out)
}
