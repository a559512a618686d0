//! [`Client`]: the typed client of a master's API, used by the CLI and the tests.
use bosun_proto::v1::api_client::ApiClient;
use bosun_proto::v1::{
    ExecInput, ExecOutput, ListRequest, LogsRequest, ObjectRef, ObjectRequest, RefRequest,
    TopRequest, VersionRequest, VersionResponse, WatchRequest,
};
use futures::{Stream, StreamExt};
use tonic::transport::Channel;

use crate::pki::tls::Credentials;
use tonic::Code;

use crate::meta::Propagation;
use crate::metrics::NodeMetrics;
use crate::object::{DecodeError, Kind, Object};

/// How long [`Client::connect_any`] waits for a master to answer before trying the next.
pub const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Largest message accepted from a master (lists of many objects).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Errors of the client, with the master's own message.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the master at {addr}: {message}")]
    Connect { addr: String, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Other(String),
    #[error("the master sent an object that could not be read: {0}")]
    Decode(#[from] DecodeError),
}

impl From<tonic::Status> for ClientError {
    fn from(s: tonic::Status) -> Self {
        let m = s.message().to_string();
        match s.code() {
            Code::NotFound => ClientError::NotFound(m),
            Code::AlreadyExists => ClientError::AlreadyExists(m),
            Code::Aborted => ClientError::Conflict(m),
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => {
                ClientError::Invalid(m)
            }
            Code::Unavailable => ClientError::Unavailable(m),
            _ => ClientError::Other(m),
        }
    }
}

/// What `apply` did to one object.
#[derive(Debug, Clone)]
pub struct Applied {
    pub object: Object,
    /// `created`, `configured` or `unchanged`.
    pub outcome: String,
}

/// One change seen by a watch.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub event: String,
    pub object: Object,
    pub revision: u64,
}

/// A connection to one master.
#[derive(Clone)]
pub struct Client {
    api: ApiClient<Channel>,
    /// The connection, for the other services of the same master.
    channel: Channel,
    /// Reads are served by the connected master without confirming they are current.
    stale: bool,
    /// The master this client talks to.
    server: String,
}

impl Client {
    /// Connects to the master at `server` (`host:port`) over TLS, trusting the cluster CA
    /// of `credentials` and presenting its certificate.
    pub async fn connect(server: &str, credentials: &Credentials) -> Result<Client, ClientError> {
        let err = |e: tonic::transport::Error| ClientError::Connect {
            addr: server.to_string(),
            message: std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string()),
        };
        let channel = credentials
            .endpoint(server)
            .map_err(err)?
            .connect_timeout(std::time::Duration::from_secs(5))
            .connect()
            .await
            .map_err(err)?;
        let api = ApiClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Client {
            api,
            channel,
            stale: false,
            server: server.to_string(),
        })
    }

    /// Connects to the first of `servers` that answers within [`HEALTH_TIMEOUT`] (a
    /// comma-separated list is split). Any master serves any request: writes are forwarded
    /// to the leader. A master that accepts connections but does not answer (paused, hung)
    /// is skipped.
    pub async fn connect_any(
        servers: &[String],
        credentials: &Credentials,
    ) -> Result<Client, ClientError> {
        let list: Vec<&str> = servers
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let mut last = None;
        for server in &list {
            let answered = async {
                let c = Client::connect(server, credentials).await?;
                c.version().await?;
                Ok::<_, ClientError>(c)
            };
            match tokio::time::timeout(HEALTH_TIMEOUT, answered).await {
                Ok(Ok(c)) => return Ok(c),
                Ok(Err(e)) => last = Some(e),
                Err(_) => {
                    last = Some(ClientError::Connect {
                        addr: server.to_string(),
                        message: "no answer".into(),
                    })
                }
            }
        }
        Err(last.unwrap_or_else(|| ClientError::Connect {
            addr: String::new(),
            message: "no master address given".into(),
        }))
    }

    /// Reads without confirming with the leader that they are current (`--stale`).
    pub fn with_stale(mut self, stale: bool) -> Self {
        self.stale = stale;
        self
    }

    /// The connection to the master, for its other services (`Cluster`).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// The master this client is connected to.
    pub fn server(&self) -> &str {
        &self.server
    }

    pub async fn apply(&self, obj: &Object) -> Result<Applied, ClientError> {
        self.apply_opts(obj, false).await
    }

    /// [`apply`](Self::apply); with `dry_run` the master answers what it would store and the
    /// outcome, and writes nothing.
    pub async fn apply_opts(&self, obj: &Object, dry_run: bool) -> Result<Applied, ClientError> {
        let r = self
            .api
            .clone()
            .apply(ObjectRequest {
                object: obj.to_json(),
                dry_run,
            })
            .await?
            .into_inner();
        Ok(Applied {
            object: Object::from_json(&r.object)?,
            outcome: r.outcome,
        })
    }

    pub async fn create(&self, obj: &Object) -> Result<Object, ClientError> {
        let r = self
            .api
            .clone()
            .create(ObjectRequest {
                object: obj.to_json(),
                dry_run: false,
            })
            .await?;
        Ok(Object::from_json(&r.into_inner().object)?)
    }

    /// Replaces an object; a set `metadata.resourceVersion` must match the stored one.
    pub async fn update(&self, obj: &Object) -> Result<Object, ClientError> {
        let r = self
            .api
            .clone()
            .update(ObjectRequest {
                object: obj.to_json(),
                dry_run: false,
            })
            .await?;
        Ok(Object::from_json(&r.into_inner().object)?)
    }

    pub async fn update_status(&self, obj: &Object) -> Result<Object, ClientError> {
        let r = self
            .api
            .clone()
            .update_status(ObjectRequest {
                object: obj.to_json(),
                dry_run: false,
            })
            .await?;
        Ok(Object::from_json(&r.into_inner().object)?)
    }

    fn object_ref(&self, kind: Kind, namespace: &str, name: &str) -> RefRequest {
        RefRequest {
            r#ref: Some(ObjectRef {
                kind: kind.as_str().to_string(),
                namespace: namespace.to_string(),
                name: name.to_string(),
            }),
            stale: self.stale,
            propagation: String::new(),
            grace_period_seconds: None,
        }
    }

    pub async fn get(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Object, ClientError> {
        Ok(self.get_at(kind, namespace, name).await?.0)
    }

    /// [`Client::get`] and the store's revision it was read at: where a watch of the object
    /// starts (its own resourceVersion may be older than the watch history reaches).
    pub async fn get_at(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<(Object, u64), ClientError> {
        let r = self
            .api
            .clone()
            .get(self.object_ref(kind, namespace, name))
            .await?
            .into_inner();
        Ok((Object::from_json(&r.object)?, r.revision))
    }

    pub async fn delete(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Object, ClientError> {
        self.delete_with(kind, namespace, name, Propagation::Background)
            .await
    }

    /// Deletes with a cascade choice for what the object owns.
    pub async fn delete_with(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        how: Propagation,
    ) -> Result<Object, ClientError> {
        self.delete_opts(kind, namespace, name, how, None).await
    }

    /// Deletes with a cascade choice and, for the pods deleted, the seconds their containers
    /// get between SIGTERM and SIGKILL instead of their own grace period.
    pub async fn delete_opts(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
        how: Propagation,
        grace_seconds: Option<i64>,
    ) -> Result<Object, ClientError> {
        let mut req = self.object_ref(kind, namespace, name);
        req.propagation = how.as_str().to_string();
        req.grace_period_seconds = grace_seconds;
        let r = self.api.clone().delete(req).await?;
        Ok(Object::from_json(&r.into_inner().object)?)
    }

    /// Objects of `kind` in `namespace` (every namespace when `None`) matching `selector`.
    pub async fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<(Vec<Object>, u64), ClientError> {
        let mut chunks = self.list_chunks(kind, namespace, selector).await?;
        let (mut objects, mut revision) = (Vec::new(), 0);
        // Each chunk is decoded as it comes, while the master encodes the next.
        while let Some(chunk) = chunks.message().await? {
            revision = chunk.revision;
            for b in &chunk.objects {
                objects.push(Object::from_json(b)?);
            }
        }
        Ok((objects, revision))
    }

    /// [`Client::list`] without decoding: each object's JSON, and the list's revision.
    pub async fn list_raw(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<(Vec<bytes::Bytes>, u64), ClientError> {
        let mut chunks = self.list_chunks(kind, namespace, selector).await?;
        let (mut objects, mut revision) = (Vec::new(), 0);
        while let Some(chunk) = chunks.message().await? {
            revision = chunk.revision;
            objects.extend(chunk.objects);
        }
        Ok((objects, revision))
    }

    /// The chunks a list comes in.
    async fn list_chunks(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<tonic::Streaming<bosun_proto::v1::ListResponse>, ClientError> {
        Ok(self
            .api
            .clone()
            .list(ListRequest {
                kind: kind.as_str().to_string(),
                namespace: namespace.unwrap_or_default().to_string(),
                label_selector: selector.unwrap_or_default().to_string(),
                stale: self.stale,
            })
            .await?
            .into_inner())
    }

    /// Changes after `from_revision`.
    pub async fn watch(
        &self,
        kind: Option<Kind>,
        namespace: Option<&str>,
        from_revision: u64,
    ) -> Result<impl Stream<Item = Result<WatchEvent, ClientError>>, ClientError> {
        let s = self
            .api
            .clone()
            .watch(WatchRequest {
                kind: kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
                namespace: namespace.unwrap_or_default().to_string(),
                from_revision,
            })
            .await?
            .into_inner();
        Ok(s.map(|e| {
            let e = e?;
            Ok(WatchEvent {
                event: e.r#type,
                object: Object::from_json(&e.object)?,
                revision: e.revision,
            })
        }))
    }

    /// A container's output (as `req` selects it); with `follow`, until the container stops or
    /// the stream is dropped.
    pub async fn logs(
        &self,
        req: LogsRequest,
    ) -> Result<impl Stream<Item = Result<Vec<u8>, ClientError>>, ClientError> {
        let s = self.api.clone().logs(req).await?.into_inner();
        Ok(s.map(|c| c.map(|c| c.data).map_err(ClientError::from)))
    }

    /// Runs a command in a container: `input` starts with an `ExecStart`; the stream carries
    /// its output and, last, its exit code.
    pub async fn exec(
        &self,
        input: impl Stream<Item = ExecInput> + Send + 'static,
    ) -> Result<tonic::Streaming<ExecOutput>, ClientError> {
        Ok(self.api.clone().exec(input).await?.into_inner())
    }

    /// CPU and memory of every connected node and its pods, measured now.
    pub async fn top(&self) -> Result<(Vec<NodeMetrics>, Vec<String>), ClientError> {
        let r = self
            .api
            .clone()
            .top(TopRequest::default())
            .await?
            .into_inner();
        let nodes = r
            .nodes
            .iter()
            .filter_map(|b| serde_json::from_slice(b).ok())
            .collect();
        Ok((nodes, r.unreachable))
    }

    pub async fn version(&self) -> Result<VersionResponse, ClientError> {
        Ok(self
            .api
            .clone()
            .version(VersionRequest {})
            .await?
            .into_inner())
    }
}
