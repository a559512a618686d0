//! Tests of [`super`]: `httpGet` probes against a local listener.
use super::*;
use bosun_shared::probe::{HttpHeader, ProbePort, SCHEME_HTTP};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const SECOND: Duration = Duration::from_secs(1);

fn action(path: &str, headers: &[(&str, &str)]) -> HttpGetAction {
    HttpGetAction {
        path: path.into(),
        port: ProbePort::Number(0),
        host: None,
        scheme: SCHEME_HTTP.into(),
        http_headers: headers
            .iter()
            .map(|(n, v)| HttpHeader {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect(),
    }
}

/// A server for one connection that answers `response` (`None`: never answers); the handle
/// yields the request it read.
async fn serve_once(response: Option<&'static str>) -> (u16, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = tokio::spawn(async move {
        let (mut conn, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut chunk = [0u8; 1024];
        while !request.ends_with(b"\r\n\r\n") {
            let n = conn.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&chunk[..n]);
        }
        match response {
            Some(r) => conn.write_all(r.as_bytes()).await.unwrap(),
            // Hold the connection until the client gives up.
            None => while conn.read(&mut chunk).await.is_ok_and(|n| n > 0) {},
        }
        String::from_utf8(request).unwrap()
    });
    (port, handle)
}

#[tokio::test]
async fn statuses_200_to_399_pass() {
    for response in [
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.0 204 No Content\r\n\r\n",
        "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n",
    ] {
        let (port, server) = serve_once(Some(response)).await;
        let got = get("127.0.0.1", port, &action("/healthz", &[]), SECOND).await;
        assert_eq!(got, Outcome::Success, "{response:?}");
        let request = server.await.unwrap();
        assert!(
            request.starts_with("GET /healthz HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request.contains(&format!("\r\nHost: 127.0.0.1:{port}\r\n")),
            "{request}"
        );
        assert!(request.contains("\r\nUser-Agent: kube-probe/"), "{request}");
    }
}

#[tokio::test]
async fn other_statuses_fail_with_the_code() {
    for (response, code) in [
        ("HTTP/1.1 500 Internal Server Error\r\n\r\n", 500),
        ("HTTP/1.1 404 Not Found\r\n\r\n", 404),
        ("HTTP/1.1 101 Switching Protocols\r\n\r\n", 101),
    ] {
        let (port, _server) = serve_once(Some(response)).await;
        let got = get("127.0.0.1", port, &action("/", &[]), SECOND).await;
        assert_eq!(
            got,
            Outcome::Failure(format!("HTTP probe failed with statuscode: {code}"))
        );
    }
}

#[tokio::test]
async fn headers_are_sent_and_replace_the_defaults() {
    let (port, server) = serve_once(Some("HTTP/1.1 200 OK\r\n\r\n")).await;
    let a = action("ready", &[("host", "web.local"), ("X-Probe", "1")]);
    assert_eq!(get("127.0.0.1", port, &a, SECOND).await, Outcome::Success);
    let request = server.await.unwrap();
    assert!(request.starts_with("GET /ready HTTP/1.1\r\n"), "{request}");
    assert!(request.contains("\r\nhost: web.local\r\n"), "{request}");
    assert!(!request.contains("Host: 127.0.0.1"), "{request}");
    assert!(request.contains("\r\nX-Probe: 1\r\n"), "{request}");
    assert!(request.ends_with("Connection: close\r\n\r\n"), "{request}");
}

#[tokio::test]
async fn refused_silent_and_malformed_servers_fail() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = listener.local_addr().unwrap().port();
    drop(listener);
    match get("127.0.0.1", closed, &action("/healthz", &[]), SECOND).await {
        Outcome::Failure(m) => assert!(
            m.starts_with(&format!(
                "Get \"http://127.0.0.1:{closed}/healthz\": dial tcp 127.0.0.1:{closed}: "
            )),
            "{m}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }

    let (port, _server) = serve_once(None).await;
    let got = get(
        "127.0.0.1",
        port,
        &action("/", &[]),
        Duration::from_millis(200),
    )
    .await;
    assert_eq!(
        got,
        Outcome::Failure(format!(
            "Get \"http://127.0.0.1:{port}/\": no response within 0.2s"
        ))
    );

    let (port, _server) = serve_once(Some("SSH-2.0-OpenSSH_9.6\r\n")).await;
    match get("127.0.0.1", port, &action("/", &[]), SECOND).await {
        Outcome::Failure(m) => assert!(m.contains("malformed HTTP response"), "{m}"),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn status_lines_parse() {
    assert_eq!(parse_status_line(b"HTTP/1.1 200 OK"), Ok(200));
    assert_eq!(parse_status_line(b"HTTP/1.0 503"), Ok(503));
    assert!(parse_status_line(b"HTTP/2 200").is_err());
    assert!(parse_status_line(b"HTTP/1.1 20 OK").is_err());
    assert!(parse_status_line(b"garbage").is_err());
}
