//! [`EtcdCluster`]: three `etcd` processes (Debian's `etcd-server`) on 127.0.0.1, the peer
//! `bench-store` measures Bosun's store against: etcd's defaults (fsync on), with mutual TLS
//! on clients and peers as Bosun runs, or in plaintext for reference.
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::masters::MASTERS;
use crate::{free_port, give_up, wait_for, BosunProcess};

/// How long the members may take to agree on a leader.
const START_DEADLINE: Duration = Duration::from_secs(60);
/// How long one status query may take.
const STATUS_TIMEOUT: Duration = Duration::from_secs(2);
/// Members: as many as Bosun masters.
const MEMBERS: usize = MASTERS;

/// Locks `procs`; a panic while holding it cannot leave the list half-changed, so a poisoned
/// lock is taken over.
fn lock(procs: &Mutex<Vec<BosunProcess>>) -> MutexGuard<'_, Vec<BosunProcess>> {
    procs.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Fails for good (ending a wait) when one of `procs` has exited, with its log tail.
fn all_running(procs: &Mutex<Vec<BosunProcess>>) -> anyhow::Result<()> {
    for p in lock(procs).iter_mut() {
        if !p.is_running() {
            return Err(give_up(anyhow::anyhow!(
                "{} exited; log tail:\n{}",
                p.command_line(),
                p.log_tail(30)
            )));
        }
    }
    Ok(())
}

/// Three `etcd` processes in a temporary directory, with etcd's default (fsyncing) settings;
/// dropping it kills them and removes the directory.
pub struct EtcdCluster {
    /// Behind a mutex so that waits can poll through `&self`.
    procs: Mutex<Vec<BosunProcess>>,
    client_ports: Vec<u16>,
    /// Mutual TLS everywhere, as Bosun runs: clients and peers (`None`: plaintext).
    tls: Option<EtcdTls>,
    dir: tempfile::TempDir,
}

/// Certificates of a CA made for the run: the members' (serving and peer, for 127.0.0.1) and
/// a client's. etcd gets the same protection Bosun has: TLS 1.3 between members and from
/// clients, client certificates required.
struct EtcdTls {
    ca: bosun_shared::pki::Ca,
    member: bosun_shared::pki::IssuedKey,
    client: bosun_shared::pki::IssuedKey,
}

impl EtcdTls {
    fn new() -> anyhow::Result<EtcdTls> {
        use bosun_shared::pki::{Ca, Role};
        let day = Duration::from_secs(86_400);
        let ca = Ca::generate("bench-store-etcd")?;
        let localhost = [std::net::Ipv4Addr::LOCALHOST.into()];
        let member = ca.issue_key_with_ips(Role::Master, "etcd", day, &localhost)?;
        let client = ca.issue_key(Role::Admin, "bench", day)?;
        Ok(EtcdTls { ca, member, client })
    }

    /// Writes the PEM files etcd reads into `dir`; returns (ca, cert, key) paths.
    fn files(&self, dir: &Path) -> anyhow::Result<[String; 3]> {
        let write = |name: &str, text: &str| -> anyhow::Result<String> {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            Ok(path.display().to_string())
        };
        Ok([
            write("ca.crt", self.ca.cert_pem())?,
            write("member.crt", &self.member.cert_pem)?,
            write("member.key", &self.member.key_pem)?,
        ])
    }

    fn connect_options(&self) -> etcd_client::ConnectOptions {
        let tls = etcd_client::TlsOptions::new()
            .ca_certificate(etcd_client::Certificate::from_pem(self.ca.cert_pem()))
            .identity(etcd_client::Identity::from_pem(
                &self.client.cert_pem,
                &self.client.key_pem,
            ));
        etcd_client::ConnectOptions::new().with_tls(tls)
    }
}

impl EtcdCluster {
    /// Starts the three members of a new cluster and waits until all agree on a leader.
    pub async fn launch(bin: &Path, plaintext: bool) -> anyhow::Result<EtcdCluster> {
        let scheme = if plaintext { "http" } else { "https" };
        let client_ports: Vec<u16> = (0..MEMBERS).map(|_| free_port()).collect();
        let peer_ports: Vec<u16> = (0..MEMBERS).map(|_| free_port()).collect();
        let dir = tempfile::Builder::new()
            .prefix("bench-store-etcd-")
            .tempdir()?;
        let initial: Vec<String> = peer_ports
            .iter()
            .enumerate()
            .map(|(i, p)| format!("e{}={scheme}://127.0.0.1:{p}", i + 1))
            .collect();
        let c = EtcdCluster {
            procs: Mutex::default(),
            client_ports,
            tls: if plaintext {
                None
            } else {
                Some(EtcdTls::new()?)
            },
            dir,
        };
        let files = match &c.tls {
            Some(t) => Some(t.files(c.dir.path())?),
            None => None,
        };
        for (i, peer) in peer_ports.iter().enumerate() {
            let args = etcd_args(
                c.dir.path(),
                i,
                c.client_ports[i],
                *peer,
                &initial.join(","),
                files.as_ref(),
            );
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let log = c.dir.path().join(format!("e{i}.log"));
            let p = BosunProcess::spawn(bin, &args, &[], &log)?;
            lock(&c.procs).push(p);
        }
        wait_for("etcd members agreeing on a leader", START_DEADLINE, || {
            c.leader()
        })
        .await?;
        Ok(c)
    }

    /// Process ids of the members.
    pub fn pids(&self) -> Vec<u32> {
        lock(&self.procs).iter().map(BosunProcess::pid).collect()
    }

    /// `https://127.0.0.1:<port>` (or `http://`) of member `i`'s client listener.
    fn endpoint(&self, i: usize) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_ports[i])
    }

    pub fn connect_options(&self) -> Option<etcd_client::ConnectOptions> {
        self.tls.as_ref().map(EtcdTls::connect_options)
    }

    /// The leader's client endpoint once every member reports the same leader.
    pub async fn leader(&self) -> anyhow::Result<Option<String>> {
        all_running(&self.procs)?;
        let mut leaders = Vec::new();
        for i in 0..MEMBERS {
            let ask = async {
                let options = self.connect_options();
                let mut c = etcd_client::Client::connect([self.endpoint(i)], options).await?;
                anyhow::Ok(c.status().await?)
            };
            let s = tokio::time::timeout(STATUS_TIMEOUT, ask).await??;
            let me = s.header().map(|h| h.member_id()).unwrap_or_default();
            leaders.push((s.leader(), me, i));
        }
        let leader = leaders[0].0;
        if leader == 0 || leaders.iter().any(|(l, _, _)| *l != leader) {
            return Ok(None);
        }
        Ok(leaders
            .iter()
            .find(|(_, me, _)| *me == leader)
            .map(|(_, _, i)| self.endpoint(*i)))
    }
}

/// The command line of etcd member `i` (named `e<i+1>`): 127.0.0.1 only, otherwise defaults.
fn etcd_args(
    root: &Path,
    i: usize,
    client: u16,
    peer: u16,
    initial: &str,
    tls: Option<&[String; 3]>,
) -> Vec<String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let client = format!("{scheme}://127.0.0.1:{client}");
    let peer = format!("{scheme}://127.0.0.1:{peer}");
    let mut args: Vec<String> = match tls {
        Some([ca, cert, key]) => [
            "--cert-file",
            cert,
            "--key-file",
            key,
            "--trusted-ca-file",
            ca,
            "--client-cert-auth",
            "--peer-cert-file",
            cert,
            "--peer-key-file",
            key,
            "--peer-trusted-ca-file",
            ca,
            "--peer-client-cert-auth",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        None => vec![],
    };
    args.extend(
        [
            "--name",
            &format!("e{}", i + 1),
            "--data-dir",
            &root.join(format!("e{i}")).display().to_string(),
            "--listen-client-urls",
            &client,
            "--advertise-client-urls",
            &client,
            "--listen-peer-urls",
            &peer,
            "--initial-advertise-peer-urls",
            &peer,
            "--initial-cluster",
            initial,
            "--initial-cluster-token",
            &format!("bench-store-{}", std::process::id()),
            "--initial-cluster-state",
            "new",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    args
}
