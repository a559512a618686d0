//! The gRPC client API of a master (`bosun.v1.Api`).
//!
//! - [`apply`]: server-side apply (created / configured / unchanged).
//! - `delete`: deletes with kubectl's cascade choices.
//! - [`status`]: the one mapping from store errors to gRPC statuses.
//! - [`logs`]: container logs relayed from the pod's agent.
//! - [`exec`]: a command run in a container, its input and output relayed.
//! - [`top`]: CPU and memory of the nodes and pods, measured on demand by the agents.
//! - [`target`]: the container a `logs` or `exec` names.
//! - [`relay`]: where a request for a node's agent is served (the master holding its session).
pub mod apply;
mod delete;
mod exec;
mod logs;
pub mod relay;
pub mod status;
mod target;
mod top;

use std::pin::Pin;
use std::sync::Arc;

use bosun_proto::v1::api_client::ApiClient;
use bosun_proto::v1::api_server::Api;
use bosun_proto::v1::{
    ApplyResponse, ExecInput, ExecOutput, ListRequest, ListResponse, LogChunk, LogsRequest,
    ObjectRef, ObjectRequest, ObjectResponse, RefRequest, TopRequest, TopResponse, VersionRequest,
    VersionResponse, WatchEvent, WatchRequest,
};
use bosun_shared::selector::LabelSelector;
use bosun_shared::{Kind, Object, ToCompactString};
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use crate::dispatcher::Registry;
use crate::peers::clients::PeerChannels;
use crate::store::Store;
use status::{invalid, to_status};

/// Objects per message of a list. A list of one chunk is encoded on the request's own task;
/// the chunks of a longer one on a blocking thread.
const LIST_CHUNK: usize = 500;

/// The gRPC `Api` service.
#[derive(Clone)]
pub struct ApiService {
    pub store: Store,
    pub registry: Arc<Registry>,
    /// This master's name, reported by `Version`.
    pub name: String,
    /// Connections to other masters: writes are forwarded to the leader.
    pub peers: Arc<PeerChannels>,
    /// Cancelled when the master stops: watches, followed logs and execs end then, or the
    /// server's graceful shutdown would wait for them forever.
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl ApiService {
    /// `None` on the leader; otherwise a client of the leader to forward the request to.
    fn leader_api(&self) -> Result<Option<ApiClient<tonic::transport::Channel>>, Status> {
        if self.store.is_leader() {
            return Ok(None);
        }
        Ok(Some(
            ApiClient::new(self.peers.leader(&self.store)?)
                .max_decoding_message_size(64 * 1024 * 1024)
                .max_encoding_message_size(64 * 1024 * 1024),
        ))
    }

    /// A namespaced object can be created only in a namespace that exists (or a built-in one,
    /// which the leader creates if missing).
    fn check_namespace(&self, obj: &Object) -> Result<(), Status> {
        let ns = &obj.meta().namespace;
        if !obj.kind().namespaced()
            || bosun_shared::namespace::is_built_in(ns)
            || self.store.get(Kind::Namespace, "", ns).is_some()
        {
            return Ok(());
        }
        Err(Status::not_found(format!("namespaces \"{ns}\" not found")))
    }

    /// Unless `stale`, waits until this master has everything the leader had committed when
    /// the read arrived (ReadIndex), so the local answer is linearizable.
    async fn read_barrier(&self, stale: bool) -> Result<(), Status> {
        if stale {
            return Ok(());
        }
        self.store.linearizable().await.map_err(to_status)
    }
}

/// Decodes and validates an object sent by a client, defaulting its namespace.
fn decode(bytes: &[u8]) -> Result<Object, Status> {
    let mut obj = Object::from_json(bytes).map_err(|e| invalid(e.to_string()))?;
    obj.set_type_meta();
    if obj.kind().namespaced() && obj.meta().namespace.is_empty() {
        obj.meta_mut().namespace = bosun_shared::meta::DEFAULT_NAMESPACE.to_compact_string();
    }
    if !obj.kind().namespaced() {
        obj.meta_mut().namespace.clear();
    }
    let errors = bosun_shared::validate::validate(&obj);
    if let Object::Secret(s) = &mut obj {
        s.merge_string_data();
        // Only the store seals; a client cannot hand it ciphertext.
        s.sealed = None;
    }
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        return Err(invalid(format!(
            "{} {:?} is invalid: {}",
            obj.kind(),
            obj.meta().name,
            list.join("; ")
        )));
    }
    Ok(obj)
}

fn parse_ref(r: Option<ObjectRef>) -> Result<(Kind, String, String), Status> {
    let r = r.ok_or_else(|| invalid("ref: Required value"))?;
    let kind: Kind = r
        .kind
        .parse()
        .map_err(|e: String| invalid(format!("ref.kind: {e}")))?;
    let ns = if kind.namespaced() && r.namespace.is_empty() {
        bosun_shared::meta::DEFAULT_NAMESPACE.to_string()
    } else if kind.namespaced() {
        r.namespace
    } else {
        String::new()
    };
    Ok((kind, ns, r.name))
}

fn respond(o: Arc<Object>) -> Response<ObjectResponse> {
    Response::new(ObjectResponse {
        object: o.to_json().into(),
        revision: 0,
    })
}

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// `stream`, cut when the master stops, with an error saying so: a followed log or an exec
/// otherwise keeps the server's graceful shutdown waiting, and on a follower nothing else
/// would end it (it relays a stream from the leader, which goes on).
fn until_shutdown<T: Send + 'static>(
    stream: impl Stream<Item = Result<T, Status>> + Send + 'static,
    shutdown: &tokio_util::sync::CancellationToken,
) -> BoxStream<T> {
    let stopped = shutdown.clone();
    let cut = futures::stream::once(async move {
        stopped
            .is_cancelled()
            .then(|| Err(Status::unavailable("the master is shutting down")))
    })
    .filter_map(futures::future::ready);
    Box::pin(
        stream
            .take_until(shutdown.clone().cancelled_owned())
            .chain(cut),
    )
}

#[tonic::async_trait]
impl Api for ApiService {
    async fn apply(&self, req: Request<ObjectRequest>) -> Result<Response<ApplyResponse>, Status> {
        let r = req.into_inner();
        if let Some(mut leader) = self.leader_api()? {
            return leader.apply(r).await;
        }
        let obj = decode(&r.object)?;
        self.check_namespace(&obj)?;
        let (stored, outcome) = apply::apply(&self.store, obj, r.dry_run)
            .await
            .map_err(to_status)?;
        Ok(Response::new(ApplyResponse {
            object: stored.to_json(),
            outcome: outcome.as_str().to_string(),
            warnings: vec![],
        }))
    }

    async fn create(
        &self,
        req: Request<ObjectRequest>,
    ) -> Result<Response<ObjectResponse>, Status> {
        let r = req.into_inner();
        if let Some(mut leader) = self.leader_api()? {
            return leader.create(r).await;
        }
        let obj = decode(&r.object)?;
        self.check_namespace(&obj)?;
        self.store.create(obj).await.map(respond).map_err(to_status)
    }

    async fn update(
        &self,
        req: Request<ObjectRequest>,
    ) -> Result<Response<ObjectResponse>, Status> {
        let r = req.into_inner();
        if let Some(mut leader) = self.leader_api()? {
            return leader.update(r).await;
        }
        let mut obj = decode(&r.object)?;
        if let Object::PersistentVolumeClaim(new) = &mut obj {
            let current = self.store.get(
                Kind::PersistentVolumeClaim,
                &new.metadata.namespace,
                &new.metadata.name,
            );
            if let Some(cur) = current.as_deref().and_then(Object::as_claim) {
                apply::keep_claim_binding(cur, new);
            }
        }
        let expected = Some(obj.meta().revision()).filter(|r| *r > 0);
        self.store
            .update(obj, expected)
            .await
            .map(respond)
            .map_err(to_status)
    }

    async fn update_status(
        &self,
        req: Request<ObjectRequest>,
    ) -> Result<Response<ObjectResponse>, Status> {
        let r = req.into_inner();
        if let Some(mut leader) = self.leader_api()? {
            return leader.update_status(r).await;
        }
        let obj = decode(&r.object)?;
        let expected = Some(obj.meta().revision()).filter(|r| *r > 0);
        self.store
            .update_status(obj, expected)
            .await
            .map(respond)
            .map_err(to_status)
    }

    async fn delete(&self, req: Request<RefRequest>) -> Result<Response<ObjectResponse>, Status> {
        let r = req.into_inner();
        if let Some(mut leader) = self.leader_api()? {
            return leader.delete(r).await;
        }
        let how: bosun_shared::meta::Propagation = r
            .propagation
            .parse()
            .map_err(|e: String| invalid(format!("propagation: {e}")))?;
        if let Some(g) = r.grace_period_seconds.filter(|g| *g < 0) {
            return Err(invalid(format!(
                "gracePeriodSeconds: Invalid value: {g}: must be greater than or equal to 0"
            )));
        }
        let (kind, ns, name) = parse_ref(r.r#ref)?;
        if kind == Kind::Namespace && bosun_shared::namespace::is_built_in(&name) {
            return Err(Status::permission_denied(format!(
                "namespaces \"{name}\" is forbidden: this namespace may not be deleted"
            )));
        }
        delete::delete(&self.store, kind, &ns, &name, how, r.grace_period_seconds)
            .await
            .map(respond)
            .map_err(to_status)
    }

    async fn get(&self, req: Request<RefRequest>) -> Result<Response<ObjectResponse>, Status> {
        let r = req.into_inner();
        let (kind, ns, name) = parse_ref(r.r#ref)?;
        self.read_barrier(r.stale).await?;
        let (stored, revision) = self.store.get_stored(kind, &ns, &name);
        stored
            .map(|s| {
                Response::new(ObjectResponse {
                    object: s.json(),
                    revision,
                })
            })
            .ok_or_else(|| to_status(crate::store::StoreError::not_found(kind, &ns, &name)))
    }

    type ListStream = BoxStream<ListResponse>;

    async fn list(&self, req: Request<ListRequest>) -> Result<Response<Self::ListStream>, Status> {
        let r = req.into_inner();
        let kind: Kind = r
            .kind
            .parse()
            .map_err(|e: String| invalid(format!("kind: {e}")))?;
        let selector = if r.label_selector.is_empty() {
            None
        } else {
            Some(
                LabelSelector::parse(&r.label_selector)
                    .map_err(|e| invalid(format!("labelSelector: {e}")))?,
            )
        };
        let ns = (!r.namespace.is_empty() && kind.namespaced()).then_some(r.namespace.as_str());
        self.read_barrier(r.stale).await?;
        let (objects, revision) = self.store.list_stored(kind, ns, selector.as_ref());
        // A large list goes out in chunks, each put together when the transport asks for the
        // next. An object version is encoded once, by the first list or watch that sends it
        // (`store::Stored`); a list that finds many versions not encoded yet (30,000 pods:
        // ~100 ms of CPU) encodes its chunks off the async workers, so that the writes and
        // watches they serve meanwhile do not wait behind it.
        let mut chunks: Vec<Vec<crate::store::Stored>> =
            objects.chunks(LIST_CHUNK).map(<[_]>::to_vec).collect();
        if chunks.is_empty() {
            chunks.push(Vec::new()); // the revision still goes out
        }
        let many = chunks.len() > 1;
        let stream = futures::stream::iter(chunks).then(move |chunk| async move {
            let encode = move || ListResponse {
                objects: chunk.iter().map(crate::store::Stored::json).collect(),
                revision,
            };
            if many {
                tokio::task::spawn_blocking(encode)
                    .await
                    .map_err(|e| Status::internal(format!("encoding the list: {e}")))
            } else {
                Ok(encode())
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }

    type WatchStream = BoxStream<WatchEvent>;

    async fn watch(
        &self,
        req: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let r = req.into_inner();
        let kind = if r.kind.is_empty() {
            None
        } else {
            Some(
                r.kind
                    .parse::<Kind>()
                    .map_err(|e| invalid(format!("kind: {e}")))?,
            )
        };
        let ns = (!r.namespace.is_empty()).then_some(r.namespace);
        let stream = self
            .store
            .watch(kind, ns, r.from_revision)
            .map_err(to_status)?;
        let events = stream.map(|c| {
            c.map(|c| WatchEvent {
                r#type: c.event.as_str().to_string(),
                object: c.json(),
                revision: c.revision,
            })
            .map_err(to_status)
        });
        Ok(Response::new(Box::pin(
            events.take_until(self.shutdown.clone().cancelled_owned()),
        )))
    }

    type LogsStream = BoxStream<LogChunk>;

    async fn logs(&self, req: Request<LogsRequest>) -> Result<Response<Self::LogsStream>, Status> {
        let relayed = relay::was_relayed(&req);
        let r = req.into_inner();
        let node = self.node_of(&r.namespace, &r.pod, &r.container);
        if let relay::Route::To {
            mut client,
            relayed,
        } = self.route(node.as_deref(), relayed)?
        {
            let stream = client
                .logs(relay::Route::request(relayed, r))
                .await?
                .into_inner();
            return Ok(Response::new(until_shutdown(stream, &self.shutdown)));
        }
        let stream = logs::open(&self.store, &self.registry, r)?;
        Ok(Response::new(until_shutdown(stream, &self.shutdown)))
    }

    type ExecStream = BoxStream<ExecOutput>;

    async fn exec(
        &self,
        req: Request<tonic::Streaming<ExecInput>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        let relayed = relay::was_relayed(&req);
        let mut raw = req.into_inner();
        // The first message names the pod, and so the node whose session serves the exec.
        let first = raw.next().await.and_then(Result::ok);
        let node = match first.as_ref().and_then(|m| m.msg.as_ref()) {
            Some(bosun_proto::v1::exec_input::Msg::Start(s)) => {
                self.node_of(&s.namespace, &s.pod, &s.container)
            }
            _ => None,
        };
        // The input ends at the client's first transport error, as if it had hung up.
        let rest = raw
            .take_while(|m| futures::future::ready(m.is_ok()))
            .filter_map(|m| futures::future::ready(m.ok()));
        let input = futures::stream::iter(first).chain(rest);
        if let relay::Route::To {
            mut client,
            relayed,
        } = self.route(node.as_deref(), relayed)?
        {
            let stream = client
                .exec(relay::Route::request(relayed, input))
                .await?
                .into_inner();
            return Ok(Response::new(until_shutdown(stream, &self.shutdown)));
        }
        let stream = exec::start(&self.store, &self.registry, Box::pin(input)).await?;
        Ok(Response::new(until_shutdown(stream, &self.shutdown)))
    }

    async fn top(&self, req: Request<TopRequest>) -> Result<Response<TopResponse>, Status> {
        let relayed = relay::was_relayed(&req);
        let only = req.into_inner().nodes;
        if relayed {
            return Ok(Response::new(top::gather_here(&self.registry, only).await));
        }
        if let Some(mut leader) = self.leader_api()? {
            return leader.top(TopRequest { nodes: only }).await;
        }
        Ok(Response::new(top::gather(self, only).await))
    }

    async fn version(
        &self,
        _req: Request<VersionRequest>,
    ) -> Result<Response<VersionResponse>, Status> {
        let s = self.store.status();
        Ok(Response::new(VersionResponse {
            version: env!("CARGO_PKG_VERSION").to_string(),
            master: self.name.clone(),
            revision: self.store.revision(),
            leader_id: s.leader_id,
            term: s.term,
        }))
    }
}
