//! [`GrpcTransport`]: Raft messages to peers over gRPC, two lanes per peer, each a bounded
//! queue, a task and a connection of its own.
//!
//! - The **append lane** carries log entries (`MsgAppend`) and snapshots; the **control
//!   lane** everything else: heartbeats, votes, read-index confirmations, and the responses.
//!   As etcd's two streams (`msgapp` and `message`), so that a heartbeat never waits behind
//!   megabytes of entries: with one lane, a Deployment's 10,000 bindings (20 entries of
//!   500, proposed together) queued the heartbeats and read confirmations for seconds on
//!   two loaded cores, and bench-scale saw two to four elections in that phase (session 12).
//!   Raft tolerates the reordering between lanes (it is built for lossy, reordering networks).
//! - The Raft thread only ever `try_send`s into a lane's queue: a full queue reports the peer
//!   unreachable to Raft instead of blocking it. Each lane's task batches what is queued and
//!   sends the batch down one long-lived `Raft.Stream` call (pipelined, as etcd's stream
//!   transport: no round trip per batch); snapshot messages go through `Raft.Snapshot` in
//!   chunks. A broken stream is reopened on the next batch. Failures are reported back to
//!   the Raft thread (unreachable, snapshot failed) through its inbox.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::raft_client::RaftClient;
use bosun_proto::v1::{RaftBatch, SnapshotChunk};
use bosun_shared::pki::tls::{Credentials, CurrentCredentials};
use protobuf::Message as _;
use raft::eraftpb::{Message, MessageType};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::Channel;
use tracing::debug;

use super::faults::Faults;
use crate::store::{MemberBook, RaftMsg, Transport};

/// Messages queued per peer and lane before the peer is reported unreachable.
pub const PEER_QUEUE: usize = 4_096;
/// Messages sent in one batch at most.
const MAX_BATCH: usize = 256;
/// A batch takes no more messages once it holds this many bytes of them (so it is at most
/// this plus one message).
/// The receiving master's decode buffer grows to the largest batch it was sent and keeps that
/// size for the stream's life: batches of up to 256 appends of 1 MiB each left followers
/// holding 17 MB buffers under bench-scale (session 16's heap profile).
const MAX_BATCH_BYTES: usize = 1024 * 1024;
/// Batches buffered for one peer's stream before its task waits.
const STREAM_DEPTH: usize = 64;
/// Size of one snapshot chunk.
const SNAPSHOT_CHUNK: usize = 1024 * 1024;
/// Pause after a failed send, so a dead peer does not spin its task.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// This master's identity on the wire, and what every peer task shares.
#[derive(Clone)]
struct Shared {
    me: u64,
    my_address: String,
    members: MemberBook,
    inbox: mpsc::Sender<RaftMsg>,
    faults: Arc<Faults>,
    /// The CA and this master's certificate: peers accept Raft traffic only from masters.
    credentials: CurrentCredentials,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

/// Which of a peer's two lanes a message takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Lane {
    /// Log entries and snapshots.
    Append,
    /// Heartbeats, votes, read-index confirmations, responses.
    Control,
}

impl Lane {
    fn of(m: &Message) -> Lane {
        match m.get_msg_type() {
            MessageType::MsgAppend | MessageType::MsgSnapshot => Lane::Append,
            _ => Lane::Control,
        }
    }
}

pub struct GrpcTransport {
    shared: Shared,
    peers: HashMap<(u64, Lane), mpsc::Sender<Message>>,
    runtime: tokio::runtime::Handle,
}

impl GrpcTransport {
    /// `runtime` runs the peer tasks (the Raft thread itself is not a Tokio thread).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        me: u64,
        my_address: String,
        members: MemberBook,
        inbox: mpsc::Sender<RaftMsg>,
        faults: Arc<Faults>,
        credentials: CurrentCredentials,
        tasks: TaskTracker,
        runtime: tokio::runtime::Handle,
        shutdown: CancellationToken,
    ) -> Self {
        GrpcTransport {
            shared: Shared {
                me,
                my_address,
                members,
                inbox,
                faults,
                credentials,
                tasks,
                shutdown,
            },
            peers: HashMap::new(),
            runtime,
        }
    }

    fn queue(&mut self, to: u64, lane: Lane) -> &mpsc::Sender<Message> {
        let needs_task = self.peers.get(&(to, lane)).is_none_or(|q| q.is_closed());
        if needs_task {
            let (tx, rx) = mpsc::channel(PEER_QUEUE);
            let shared = self.shared.clone();
            let _guard = self.runtime.enter();
            self.shared.tasks.spawn(peer_task(shared, to, rx));
            self.peers.insert((to, lane), tx);
        }
        &self.peers[&(to, lane)]
    }
}

impl Transport for GrpcTransport {
    fn send(&mut self, msgs: Vec<Message>) -> Vec<u64> {
        let mut unreachable = Vec::new();
        for m in msgs {
            let to = m.to;
            if self.shared.faults.blocks(self.shared.me, to) {
                continue; // partitioned: lost, like on a real network
            }
            let lane = Lane::of(&m);
            if self.queue(to, lane).try_send(m).is_err() && !unreachable.contains(&to) {
                unreachable.push(to);
            }
        }
        unreachable
    }
}

/// An open `Raft.Stream` call to one peer.
struct PeerStream {
    address: String,
    client: RaftClient<Channel>,
    batches: mpsc::Sender<RaftBatch>,
}

/// Opens a stream to `address`; it ends (and reports the peer unreachable) when the call
/// fails. The call runs in its own task, so `peer_task` never waits for an answer.
fn open_stream(s: &Shared, to: u64, address: String) -> Result<PeerStream, String> {
    let client = connect(&s.credentials.get(), &address)?;
    let (tx, rx) = mpsc::channel(STREAM_DEPTH);
    let mut c = client.clone();
    let inbox = s.inbox.clone();
    let shutdown = s.shutdown.clone();
    s.tasks.spawn(async move {
        let call = c.stream(tokio_stream::wrappers::ReceiverStream::new(rx));
        tokio::select! {
            _ = shutdown.cancelled() => {}
            r = call => {
                if let Err(e) = r {
                    debug!(peer = to, error = %e.message(), "raft stream to peer ended");
                    let _ = inbox.try_send(RaftMsg::Unreachable(to));
                }
            }
        }
    });
    Ok(PeerStream {
        address,
        client,
        batches: tx,
    })
}

/// Sends everything queued in one lane for peer `to`, in order, until shutdown, over a
/// connection of the lane's own.
async fn peer_task(s: Shared, to: u64, mut rx: mpsc::Receiver<Message>) {
    let mut stream: Option<PeerStream> = None;
    loop {
        let first = tokio::select! {
            _ = s.shutdown.cancelled() => return,
            m = rx.recv() => match m { Some(m) => m, None => return },
        };
        let mut bytes = first.compute_size() as usize;
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(m) => {
                    bytes += m.compute_size() as usize;
                    batch.push(m);
                }
                Err(_) => break,
            }
        }
        let delay = s.faults.current_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        batch.retain(|_| !s.faults.drop_next());
        if batch.is_empty() {
            continue;
        }
        let Some(address) = s.members.address(to).filter(|a| !a.is_empty()) else {
            debug!(peer = to, "no address for peer yet");
            let _ = s.inbox.try_send(RaftMsg::Unreachable(to));
            continue;
        };
        let usable = stream
            .as_ref()
            .is_some_and(|p| p.address == address && !p.batches.is_closed());
        if !usable {
            stream = match open_stream(&s, to, address.clone()) {
                Ok(p) => Some(p),
                Err(e) => {
                    debug!(peer = to, %address, error = %e, "bad peer address");
                    let _ = s.inbox.try_send(RaftMsg::Unreachable(to));
                    continue;
                }
            };
        }
        let Some(peer) = stream.as_ref() else {
            continue;
        };
        let (snapshots, messages): (Vec<Message>, Vec<Message>) = batch
            .into_iter()
            .partition(|m| m.get_msg_type() == MessageType::MsgSnapshot);
        if !messages.is_empty() {
            let batch = RaftBatch {
                from: s.me,
                from_address: s.my_address.clone(),
                messages: messages.iter().map(encode).collect(),
            };
            if peer.batches.send(batch).await.is_err() {
                // The call ended (and reported the peer unreachable); reopen next time.
                stream = None;
                tokio::time::sleep(RETRY_PAUSE).await;
                continue;
            }
        }
        for snap in snapshots {
            let ok = send_snapshot(&s, peer.client.clone(), snap).await;
            let _ = s.inbox.send(RaftMsg::SnapshotSent { to, ok }).await;
        }
    }
}

fn connect(credentials: &Credentials, address: &str) -> Result<RaftClient<Channel>, String> {
    let channel = credentials
        .endpoint(address)
        .map_err(|e| e.to_string())?
        .connect_timeout(Duration::from_secs(1))
        .connect_lazy();
    Ok(RaftClient::new(channel)
        .max_decoding_message_size(64 * 1024 * 1024)
        .max_encoding_message_size(64 * 1024 * 1024))
}

fn encode(m: &Message) -> Vec<u8> {
    // Encoding a protobuf message into memory cannot fail.
    m.write_to_bytes().expect("raft message encodes")
}

async fn send_snapshot(s: &Shared, mut c: RaftClient<Channel>, snap: Message) -> bool {
    let bytes = encode(&snap);
    let chunks: Vec<SnapshotChunk> = bytes
        .chunks(SNAPSHOT_CHUNK)
        .map(|data| SnapshotChunk {
            from: s.me,
            from_address: s.my_address.clone(),
            data: data.to_vec(),
        })
        .collect();
    tracing::info!(
        to = snap.to,
        bytes = bytes.len(),
        chunks = chunks.len(),
        "sending raft snapshot"
    );
    match c.snapshot(futures::stream::iter(chunks)).await {
        Ok(_) => true,
        Err(e) => {
            debug!(error = %e.message(), "raft snapshot to peer failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(t: MessageType) -> Message {
        let mut m = Message::default();
        m.set_msg_type(t);
        m
    }

    #[test]
    fn entries_take_the_append_lane_and_nothing_else_does() {
        use MessageType::*;
        for t in [MsgAppend, MsgSnapshot] {
            assert_eq!(Lane::of(&message(t)), Lane::Append, "{t:?}");
        }
        for t in [
            MsgHeartbeat,
            MsgHeartbeatResponse,
            MsgAppendResponse,
            MsgRequestVote,
            MsgRequestPreVote,
            MsgRequestVoteResponse,
            MsgReadIndex,
            MsgReadIndexResp,
            MsgTimeoutNow,
        ] {
            assert_eq!(Lane::of(&message(t)), Lane::Control, "{t:?}");
        }
    }
}
