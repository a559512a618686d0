//! `tcpSocket` probes: connecting is success; the connection is closed at once.
use std::time::Duration;

use tokio::net::TcpStream;

use super::action::Outcome;

/// Connects to `host:port`, at most `timeout`.
pub async fn connect(host: &str, port: u16, timeout: Duration) -> Outcome {
    let dial = format!("dial tcp {}", host_port(host, port));
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(_stream)) => Outcome::Success,
        Ok(Err(e)) => Outcome::Failure(format!("{dial}: {e}")),
        Err(_) => Outcome::Failure(format!("{dial}: i/o timeout")),
    }
}

/// `host:port`, with an IPv6 address in brackets (`[::1]:80`).
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[tokio::test]
    async fn a_listening_port_passes_and_a_closed_one_fails() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let second = Duration::from_secs(1);
        assert_eq!(connect("127.0.0.1", port, second).await, Outcome::Success);
        drop(listener);
        match connect("127.0.0.1", port, second).await {
            Outcome::Failure(m) => assert!(
                m.starts_with(&format!("dial tcp 127.0.0.1:{port}: ")),
                "{m}"
            ),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(host_port("::1", 80), "[::1]:80");
        assert_eq!(host_port("10.0.0.1", 80), "10.0.0.1:80");
    }
}
