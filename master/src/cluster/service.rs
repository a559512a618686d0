//! The `Cluster` gRPC service. Join and removal run on the leader (other masters forward them);
//! status asks every member for its own view.
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::cluster_client::ClusterClient;
use bosun_proto::v1::cluster_server::Cluster;
use bosun_proto::v1::{
    ClusterStatus, ClusterStatusRequest, JoinRequest, JoinResponse, Member as PbMember,
    MemberStatus, RemoveMasterRequest,
};
use raft::eraftpb::ConfChangeType;
use tonic::{Request, Response, Status};
use tracing::info;

use crate::api::status::to_status;
use crate::peers::clients::PeerChannels;
use crate::store::{Member, Store};

/// How long a removal waits for leadership to move off the master being removed.
const HANDOVER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one leadership transfer attempt is given before the next.
const TRANSFER_ATTEMPT: Duration = Duration::from_secs(1);
/// Time limit for asking one member its status.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct ClusterService {
    pub store: Store,
    pub peers: Arc<PeerChannels>,
    /// One join at a time: choosing a new id and adding the member must not interleave with
    /// another join (two masters would get the same id).
    pub join_lock: Arc<tokio::sync::Mutex<()>>,
    /// The cluster's data key, handed to joining masters.
    pub data_key: Arc<bosun_shared::seal::DataKey>,
}

pub fn to_pb(m: &Member) -> PbMember {
    PbMember {
        id: m.id,
        name: m.name.clone(),
        address: m.address.clone(),
    }
}

impl ClusterService {
    fn leader_client(&self) -> Result<ClusterClient<tonic::transport::Channel>, Status> {
        Ok(ClusterClient::new(self.peers.leader(&self.store)?))
    }

    fn local_status(&self) -> MemberStatus {
        let s = self.store.status();
        MemberStatus {
            member: self.store.members().get(s.id).as_ref().map(to_pb),
            role: s.role().to_string(),
            term: s.term,
            commit: s.commit,
            applied: s.applied,
            leader_id: s.leader_id,
            error: String::new(),
        }
    }

    async fn join_as_leader(&self, name: &str, address: &str) -> Result<JoinResponse, Status> {
        let _one_at_a_time = self.join_lock.lock().await;
        let members = self.store.members().all();
        let id = match members.values().find(|m| m.name == name) {
            // Already a member (a restart, or a retried join): same id.
            Some(m) => m.id,
            None => {
                let s = self.store.status();
                let taken = members.keys().chain(&s.voters).chain(&s.learners);
                let id = taken.copied().max().unwrap_or(0) + 1;
                let member = Member {
                    id,
                    name: name.to_string(),
                    address: address.to_string(),
                };
                self.store
                    .change_members(ConfChangeType::AddLearnerNode, member)
                    .await
                    .map_err(to_status)?;
                info!(id, name, address, "master joined as a learner");
                id
            }
        };
        Ok(JoinResponse {
            id,
            members: self.store.members().all().values().map(to_pb).collect(),
            data_key: self.data_key.to_file_text(),
        })
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn join(&self, req: Request<JoinRequest>) -> Result<Response<JoinResponse>, Status> {
        let r = req.into_inner();
        bosun_shared::names::validate_dns1123_subdomain(&r.name)
            .map_err(|e| Status::invalid_argument(format!("name {:?}: {e}", r.name)))?;
        if r.address.is_empty() {
            return Err(Status::invalid_argument("address: Required value"));
        }
        if !self.store.is_leader() {
            return self.leader_client()?.join(r).await;
        }
        self.join_as_leader(&r.name, &r.address)
            .await
            .map(Response::new)
    }

    async fn remove_master(
        &self,
        req: Request<RemoveMasterRequest>,
    ) -> Result<Response<ClusterStatus>, Status> {
        let r = req.into_inner();
        if !self.store.is_leader() {
            return self.leader_client()?.remove_master(r).await;
        }
        let member = self
            .store
            .members()
            .by_name(&r.name)
            .ok_or_else(|| Status::not_found(format!("master {:?} is not a member", r.name)))?;
        let s = self.store.status();
        if member.id == s.id {
            // Hand leadership to another voter first; the new leader performs the removal.
            if !s.voters.iter().any(|v| *v != s.id) {
                return Err(Status::failed_precondition(format!(
                    "master {:?} is the only voter; it cannot be removed",
                    r.name
                )));
            }
            // A joint configuration (the previous change still completing) refuses transfers.
            let mut changes = self.store.status_changes();
            let _ = tokio::time::timeout(HANDOVER_TIMEOUT, async {
                changes.wait_for(|s| !s.joint).await.is_ok()
            })
            .await;
            // raft-rs abandons a transfer after an election timeout (a transferee that was
            // behind or briefly unreachable): try again, each time with the most caught-up voter.
            let moved = tokio::time::timeout(HANDOVER_TIMEOUT, async {
                loop {
                    let now = self.store.status();
                    let best = now
                        .voters
                        .iter()
                        .copied()
                        .filter(|v| *v != now.id)
                        .max_by_key(|v| now.matched.iter().find(|(id, _)| id == v).map(|m| m.1));
                    if let Some(to) = best {
                        self.store.transfer_leader(to).await;
                    }
                    let mut changes = self.store.status_changes();
                    let gone = tokio::time::timeout(TRANSFER_ATTEMPT, async {
                        changes
                            .wait_for(|s| !s.is_leader && s.leader_id != 0)
                            .await
                            .is_ok()
                    })
                    .await;
                    if gone == Ok(true) {
                        return true;
                    }
                }
            })
            .await;
            if moved != Ok(true) {
                return Err(Status::unavailable(
                    "leadership did not move off the master being removed; retry",
                ));
            }
            // The new leader may take a moment to be known here: retry the hand-off briefly.
            let deadline = tokio::time::Instant::now() + HANDOVER_TIMEOUT;
            loop {
                let answer = match self.leader_client() {
                    Ok(mut c) => c.remove_master(r.clone()).await,
                    Err(e) => Err(e),
                };
                match answer {
                    Err(e)
                        if e.code() == tonic::Code::Unavailable
                            && tokio::time::Instant::now() < deadline =>
                    {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    other => return other,
                }
            }
        }
        self.store
            .change_members(ConfChangeType::RemoveNode, member.clone())
            .await
            .map_err(to_status)?;
        info!(id = member.id, name = %member.name, "master removed");
        self.status(Request::new(ClusterStatusRequest {})).await
    }

    async fn status(
        &self,
        req: Request<ClusterStatusRequest>,
    ) -> Result<Response<ClusterStatus>, Status> {
        let me = self.store.status();
        // The leader's member list is the current one; a follower may lag (or be removed).
        if !me.is_leader {
            if let Ok(mut leader) = self.leader_client() {
                if let Ok(s) = leader.status(req.into_inner()).await {
                    return Ok(s);
                }
            }
        }
        let mut members = Vec::new();
        for m in self.store.members().all().into_values() {
            if m.id == me.id {
                members.push(self.local_status());
                continue;
            }
            let answer = match self.peers.get(&m.address) {
                Ok(ch) => {
                    let mut req = Request::new(ClusterStatusRequest {});
                    req.set_timeout(LOCAL_TIMEOUT);
                    ClusterClient::new(ch)
                        .local(req)
                        .await
                        .map(Response::into_inner)
                }
                Err(e) => Err(e),
            };
            members.push(answer.unwrap_or_else(|e| MemberStatus {
                member: Some(to_pb(&m)),
                role: "unreachable".into(),
                error: e.message().to_string(),
                ..Default::default()
            }));
        }
        Ok(Response::new(ClusterStatus {
            leader_id: me.leader_id,
            term: me.term,
            members,
        }))
    }

    async fn local(
        &self,
        _req: Request<ClusterStatusRequest>,
    ) -> Result<Response<MemberStatus>, Status> {
        Ok(Response::new(self.local_status()))
    }
}
