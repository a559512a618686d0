//! Where a request for a node's agent (logs, exec, top) is served. Any master may hold a node's
//! session: the request is served where it is held, relayed there by the leader (which knows
//! where from the heartbeats the followers forward), and a follower that does not hold it
//! relays it to the leader.
use tonic::transport::Channel;
use tonic::{Request, Status};

use bosun_proto::v1::api_client::ApiClient;

use super::ApiService;

/// Metadata key of a request the leader relayed to the master holding the node's session:
/// served there or failed, never relayed again.
pub const RELAYED_METADATA: &str = "bosun-relayed";

/// Largest message relayed either way (logs and exec output come in chunks far smaller).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Where a request for a node goes.
pub enum Route {
    /// This master holds the node's session (or is the last to try).
    Here,
    /// Another master: the one holding the session (`relayed`), or the leader.
    To {
        client: ApiClient<Channel>,
        relayed: bool,
    },
}

impl Route {
    /// `message` as a request to this route's master, marked relayed when it is the holder.
    pub fn request<T>(relayed: bool, message: T) -> Request<T> {
        let mut req = Request::new(message);
        if relayed {
            req.metadata_mut().insert(
                RELAYED_METADATA,
                tonic::metadata::MetadataValue::from_static("1"),
            );
        }
        req
    }
}

/// Whether `req` was relayed by the leader.
pub fn was_relayed<T>(req: &Request<T>) -> bool {
    req.metadata().contains_key(RELAYED_METADATA)
}

impl ApiService {
    /// A client of the master at `address`.
    pub(super) fn master_api(&self, address: &str) -> Result<ApiClient<Channel>, Status> {
        Ok(ApiClient::new(self.peers.get(address)?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    /// The node running pod `pod` of namespace `ns`, as this master knows it (`None`: not
    /// here, or not scheduled).
    pub(super) fn node_of(&self, ns: &str, pod: &str, container: &str) -> Option<String> {
        super::target::Target::find(&self.store, ns, pod, container)
            .ok()
            .map(|t| t.node)
    }

    /// Where a request for the agent of `node` (`None`: the pod is not known here) is served;
    /// a request the leader `relayed` is served here.
    pub(super) fn route(&self, node: Option<&str>, relayed: bool) -> Result<Route, Status> {
        if relayed || node.is_some_and(|n| self.registry.connected(n)) {
            return Ok(Route::Here);
        }
        if let Some(holder) = node.and_then(|n| self.registry.holder(n)) {
            return Ok(Route::To {
                client: self.master_api(&holder)?,
                relayed: true,
            });
        }
        Ok(match self.leader_api()? {
            Some(client) => Route::To {
                client,
                relayed: false,
            },
            None => Route::Here,
        })
    }
}
