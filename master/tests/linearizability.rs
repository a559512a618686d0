//! Jepsen-style: clients read, write and compare-and-swap a few keys on a 3-master cluster
//! while a nemesis partitions, isolates the leader, kills and restarts masters, and drops
//! messages. The recorded history (timed-out operations as unknown) must be linearizable, and
//! every acknowledged write must be there after the faults heal.
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bosun_master::store::Compaction;
use bosun_shared::client::{Client, ClientError};
use bosun_shared::pki::tls::Credentials;
use bosun_shared::{Kind, Object};
use bosun_tests::linearizability::{check, Op, Operation};
use common::{pod, Cluster};
use tokio_util::sync::CancellationToken;

const KEYS: usize = 3;
const CLIENTS: usize = 6;
const RUN_FOR: Duration = Duration::from_secs(10);
/// An operation that takes longer than this has an unknown outcome.
const OP_TIMEOUT: Duration = Duration::from_secs(2);

/// A register: a pod whose label `v` holds the value. Bound to a node that does not exist, so
/// no controller touches it.
fn register(key: &str, value: &str) -> Object {
    let mut o = pod(key);
    if let Object::Pod(p) = &mut o {
        p.metadata.labels.insert("v".into(), value.into());
        p.spec.node_name = Some("nowhere".into());
    }
    o
}

fn value(o: &Object) -> Option<String> {
    o.meta().labels.get("v").map(|v| v.to_string())
}

struct Recorder {
    start: Instant,
    ops: Mutex<Vec<Operation>>,
}

impl Recorder {
    fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
    fn push(&self, op: Operation) {
        self.ops.lock().unwrap().push(op);
    }
}

/// Definite failures (the write surely did not happen) vs unknown outcomes.
fn definite(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Conflict(_) | ClientError::NotFound(_) | ClientError::Invalid(_)
    )
}

async fn client_loop(
    id: usize,
    addrs: Vec<String>,
    credentials: Credentials,
    rec: Arc<Recorder>,
    stop: CancellationToken,
) {
    let mut seq = 0u64;
    let mut rng = (id as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut client: Option<Client> = None;
    while !stop.is_cancelled() {
        if client.is_none() {
            let addr = addrs[(next() as usize) % addrs.len()].clone();
            client = tokio::time::timeout(OP_TIMEOUT, Client::connect(&addr, &credentials))
                .await
                .ok()
                .and_then(Result::ok);
            if client.is_none() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        }
        let c = client.clone().expect("connected above");
        let key = format!("k{}", next() as usize % KEYS);
        seq += 1;
        let new = format!("c{id}-{seq}");
        let call = rec.now();
        match next() % 3 {
            0 => match tokio::time::timeout(OP_TIMEOUT, c.get(Kind::Pod, "default", &key)).await {
                Ok(Ok(o)) => rec.push(Operation {
                    client: id,
                    key,
                    op: Op::Read { value: value(&o) },
                    call,
                    ret: Some(rec.now()),
                }),
                // A failed read constrains nothing.
                _ => client = None,
            },
            1 => {
                let r = tokio::time::timeout(OP_TIMEOUT, c.update(&register(&key, &new))).await;
                let ret = match &r {
                    Ok(Ok(_)) => Some(rec.now()),
                    Ok(Err(e)) if definite(e) => continue,
                    _ => {
                        client = None;
                        None
                    }
                };
                rec.push(Operation {
                    client: id,
                    key,
                    op: Op::Write { value: new },
                    call,
                    ret,
                });
            }
            _ => {
                // Compare-and-swap: read, then update only if nothing changed since.
                let Ok(Ok(current)) =
                    tokio::time::timeout(OP_TIMEOUT, c.get(Kind::Pod, "default", &key)).await
                else {
                    client = None;
                    continue;
                };
                let expected = value(&current);
                let mut next_obj = register(&key, &new);
                next_obj.meta_mut().resource_version = current.meta().resource_version.clone();
                let r = tokio::time::timeout(OP_TIMEOUT, c.update(&next_obj)).await;
                let (ok, ret) = match &r {
                    Ok(Ok(_)) => (true, Some(rec.now())),
                    Ok(Err(ClientError::Conflict(_))) => (false, Some(rec.now())),
                    Ok(Err(e)) if definite(e) => continue,
                    _ => {
                        client = None;
                        (true, None)
                    }
                };
                rec.push(Operation {
                    client: id,
                    key,
                    op: Op::Cas { expected, new, ok },
                    call,
                    ret,
                });
            }
        }
    }
}

/// Faults, one after another, each healed before the next.
async fn nemesis(c: &mut Cluster, stop: CancellationToken) -> Vec<String> {
    let mut done = Vec::new();
    let mut round = 0;
    while !stop.is_cancelled() {
        let all = c.ids();
        let leader = c.leader().await;
        let leader_id = c.status(leader).map(|s| s.id).unwrap_or(1);
        match round % 4 {
            0 => {
                c.faults.isolate(leader_id, &all);
                done.push(format!("isolate leader {leader_id}"));
            }
            1 => {
                c.faults.drop_share(0.15);
                c.faults.delay(Duration::from_millis(3));
                done.push("drop 15% and delay".into());
            }
            2 => {
                c.kill(leader).await;
                done.push(format!("kill leader {leader_id}"));
                tokio::time::sleep(Duration::from_millis(1500)).await;
                c.restart(leader).await;
            }
            _ => {
                let other = all.iter().copied().find(|i| *i != leader_id).unwrap_or(1);
                c.faults.partition(&[leader_id], &[other]);
                done.push(format!("cut {leader_id} from {other}"));
            }
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
        c.faults.heal();
        tokio::time::sleep(Duration::from_millis(500)).await;
        round += 1;
    }
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn histories_under_faults_are_linearizable() {
    let mut c = Cluster::start(
        3,
        Compaction {
            threshold: 200,
            keep: 20,
            // Followers cut off are caught up by snapshots, which this test exercises too.
            lagging_bytes: 0,
            ..Compaction::default()
        },
    )
    .await;
    let leader = c.leader().await;
    let setup = c.client(leader).await;
    let mut initial = HashMap::new();
    for k in 0..KEYS {
        setup
            .create(&register(&format!("k{k}"), "init"))
            .await
            .unwrap();
        initial.insert(format!("k{k}"), "init".to_string());
    }
    let rec = Arc::new(Recorder {
        start: Instant::now(),
        ops: Mutex::new(vec![]),
    });
    let stop = CancellationToken::new();
    let addrs: Vec<String> = c.nodes.iter().map(|n| n.addr.to_string()).collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            tokio::spawn(client_loop(
                i,
                addrs.clone(),
                c.credentials().clone(),
                rec.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let stopper = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(RUN_FOR).await;
            stop.cancel();
        })
    };
    let faults = nemesis(&mut c, stop.clone()).await;
    stopper.await.unwrap();
    for t in clients {
        t.await.unwrap();
    }
    c.faults.heal();
    // Final reads on every master, after healing: acknowledged writes must be visible.
    for i in 0..3 {
        let cl = c.client(i).await;
        for k in 0..KEYS {
            let key = format!("k{k}");
            let call = rec.now();
            let o = common::wait_for("a final read", common::DEADLINE, || async {
                cl.get(Kind::Pod, "default", &key).await.ok()
            })
            .await;
            rec.push(Operation {
                client: 100 + i,
                key: key.clone(),
                op: Op::Read { value: value(&o) },
                call,
                ret: Some(rec.now()),
            });
        }
    }
    let history = rec.ops.lock().unwrap().clone();
    let acked = history.iter().filter(|o| o.ret.is_some()).count();
    let unknown = history.len() - acked;
    let verdict = check(&history, &initial, 20_000_000);
    eprintln!(
        "{} operations ({acked} acknowledged, {unknown} unknown) under faults: {faults:?}",
        history.len()
    );
    assert!(
        verdict.linearizable,
        "not linearizable: {:#?}",
        verdict.failures
    );
    assert!(acked > 100, "the clients made progress: {acked}");
    c.stop_all().await;
}
