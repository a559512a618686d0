//! The `Raft` gRPC service: messages from peers into this master's Raft thread.
use bosun_proto::v1::raft_server::Raft;
use std::sync::Arc;

use bosun_proto::v1::{
    BeatBatch, ProposeRequest, ProposeResponse, RaftAck, RaftBatch, SnapshotChunk,
};
use futures::StreamExt;
use protobuf::Message as _;
use raft::eraftpb::Message;
use tonic::{Request, Response, Status, Streaming};

use crate::dispatcher::Registry;
use crate::store::Store;

/// Largest snapshot accepted from a peer.
const MAX_SNAPSHOT_BYTES: usize = 4 * 1024 * 1024 * 1024;

#[derive(Clone)]
pub struct RaftService {
    pub store: Store,
    /// Takes the heartbeats of the agents whose sessions the followers hold.
    pub registry: Arc<Registry>,
    /// Ends the long-lived streams from peers, so the server can stop.
    pub shutdown: tokio_util::sync::CancellationToken,
}

fn decode(bytes: &[u8]) -> Result<Message, Status> {
    Message::parse_from_bytes(bytes)
        .map_err(|e| Status::invalid_argument(format!("raft message: {e}")))
}

impl RaftService {
    fn learn(&self, from: u64, address: &str) {
        if from != 0 && !address.is_empty() {
            self.store.members().learn(from, address);
        }
    }
}

#[tonic::async_trait]
impl Raft for RaftService {
    async fn stream(
        &self,
        req: Request<Streaming<RaftBatch>>,
    ) -> Result<Response<RaftAck>, Status> {
        let mut stream = req.into_inner();
        loop {
            let batch = tokio::select! {
                _ = self.shutdown.cancelled() => {
                    return Err(Status::unavailable("master is shutting down"));
                }
                b = stream.next() => match b {
                    Some(b) => b?,
                    None => break,
                },
            };
            self.learn(batch.from, &batch.from_address);
            for bytes in &batch.messages {
                let m = decode(bytes)?;
                self.store
                    .step(m)
                    .await
                    .map_err(|e| Status::unavailable(e.to_string()))?;
            }
        }
        Ok(Response::new(RaftAck {}))
    }

    async fn snapshot(
        &self,
        req: Request<Streaming<SnapshotChunk>>,
    ) -> Result<Response<RaftAck>, Status> {
        let mut stream = req.into_inner();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            self.learn(chunk.from, &chunk.from_address);
            if bytes.len() + chunk.data.len() > MAX_SNAPSHOT_BYTES {
                return Err(Status::resource_exhausted("snapshot larger than 4 GiB"));
            }
            bytes.extend_from_slice(&chunk.data);
        }
        let m = decode(&bytes)?;
        tracing::info!(from = m.from, bytes = bytes.len(), "received raft snapshot");
        self.store
            .step(m)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        Ok(Response::new(RaftAck {}))
    }

    async fn propose(
        &self,
        req: Request<ProposeRequest>,
    ) -> Result<Response<ProposeResponse>, Status> {
        let command = req.into_inner().command;
        Ok(Response::new(
            super::writer::propose_for_peer(&self.store, &command).await,
        ))
    }

    async fn beats(&self, req: Request<BeatBatch>) -> Result<Response<RaftAck>, Status> {
        let batch = req.into_inner();
        if !self.store.is_leader() {
            // The follower asks again at its next round, of the master it takes for the leader.
            return Err(Status::failed_precondition("this master does not lead"));
        }
        self.learn(batch.from, &batch.from_address);
        self.registry
            .remote_beats(&batch.from_address, batch.from, &batch.beats);
        Ok(Response::new(RaftAck {}))
    }
}
