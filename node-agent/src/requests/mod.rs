//! [`Requests`]: what a master asks of the agent during a session besides assignments: a
//! container's logs, a command run in a container (`bosun exec`), and CPU and memory figures
//! (`bosun top`). Each runs as a tracked, cancellable task and answers with `StreamData`
//! messages under the master's request id.
//!
//! - [`logs`]: streams a container's output.
//! - [`exec`]: runs a command attached, relaying its input and output.
//! - [`stats`]: measures the node and its pods' containers.
//! - [`host`]: the machine's CPU and memory from `/proc`.
mod exec;
mod host;
mod logs;
mod stats;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::{
    agent_message, AgentMessage, ExecInputData, ExecRequest, LogRequest, StatsRequest, StreamData,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::runtime::Runtime;

/// Input messages buffered per running exec.
const EXEC_INPUT_BUFFER: usize = 256;

/// The requests in progress in one session.
pub struct Requests<R: Runtime> {
    runtime: Arc<R>,
    node: String,
    tx: mpsc::Sender<AgentMessage>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    cancels: HashMap<u64, CancellationToken>,
    inputs: HashMap<u64, mpsc::Sender<ExecInputData>>,
}

impl<R: Runtime> Requests<R> {
    /// Requests answered on `tx`; all of them end when `shutdown` is cancelled.
    pub fn new(
        runtime: Arc<R>,
        node: String,
        tx: mpsc::Sender<AgentMessage>,
        shutdown: &CancellationToken,
    ) -> Self {
        Requests {
            runtime,
            node,
            tx,
            tasks: TaskTracker::new(),
            shutdown: shutdown.child_token(),
            cancels: HashMap::new(),
            inputs: HashMap::new(),
        }
    }

    /// A token for request `id`, cancelled by [`Requests::cancel`] or when the session ends;
    /// tokens of finished requests are dropped here.
    fn token(&mut self, id: u64) -> CancellationToken {
        self.cancels.retain(|_, t| !t.is_cancelled());
        self.inputs.retain(|_, tx| !tx.is_closed());
        let t = self.shutdown.child_token();
        self.cancels.insert(id, t.clone());
        t
    }

    pub fn logs(&mut self, r: LogRequest) {
        let cancel = self.token(r.request_id);
        let (runtime, node, tx) = (self.runtime.clone(), self.node.clone(), self.tx.clone());
        self.tasks.spawn(async move {
            let _done = cancel.clone().drop_guard();
            logs::stream(runtime, node, r, tx, cancel).await
        });
    }

    pub fn exec(&mut self, r: ExecRequest) {
        let cancel = self.token(r.request_id);
        let (input_tx, input_rx) = mpsc::channel(EXEC_INPUT_BUFFER);
        self.inputs.insert(r.request_id, input_tx);
        let (runtime, node, tx) = (self.runtime.clone(), self.node.clone(), self.tx.clone());
        self.tasks.spawn(async move {
            let _done = cancel.clone().drop_guard();
            exec::run(runtime, node, r, input_rx, tx, cancel).await
        });
    }

    /// Hands input to a running exec, waiting at most `patience` for it to take it (an exec
    /// that does not is cancelled: the session must go on).
    pub async fn exec_input(&mut self, d: ExecInputData, patience: Duration) {
        let id = d.request_id;
        let Some(tx) = self.inputs.get(&id) else {
            return;
        };
        if tokio::time::timeout(patience, tx.send(d)).await.is_err() {
            self.cancel(id);
        }
    }

    pub fn stats(&mut self, r: StatsRequest) {
        let cancel = self.token(r.request_id);
        let (runtime, node, tx) = (self.runtime.clone(), self.node.clone(), self.tx.clone());
        self.tasks.spawn(async move {
            let _done = cancel.clone().drop_guard();
            tokio::select! {
                _ = cancel.cancelled() => {}
                () = stats::measure(runtime, node, r.request_id, tx.clone()) => {}
            }
        });
    }

    /// The master no longer wants the answers to `id`.
    pub fn cancel(&mut self, id: u64) {
        if let Some(t) = self.cancels.remove(&id) {
            t.cancel();
        }
        self.inputs.remove(&id);
    }

    /// Ends every request and waits for their tasks.
    pub async fn close(self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// A `StreamData` message.
fn data(request_id: u64, data: Vec<u8>, eof: bool, error: String) -> AgentMessage {
    AgentMessage {
        msg: Some(agent_message::Msg::Stream(StreamData {
            request_id,
            data,
            eof,
            error,
            ..Default::default()
        })),
    }
}
