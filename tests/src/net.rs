//! Ports and a minimal HTTP client over a plain [`TcpStream`], with no extra dependencies.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, read, released).
///
/// Only for programs that must be told a port up front; prefer letting a server bind port 0.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// Whether something accepts TCP connections at `addr` (`host:port`) within `timeout`.
pub fn tcp_connects(addr: &str, timeout: Duration) -> bool {
    let Ok(addrs) = addr.to_socket_addrs() else {
        return false;
    };
    addrs
        .into_iter()
        .any(|a| TcpStream::connect_timeout(&a, timeout).is_ok())
}

/// `GET path` over HTTP/1.0 to `addr` (`host:port`); returns the status code and the body.
///
/// `timeout` bounds the whole exchange. The body is read until the server closes the
/// connection, as HTTP/1.0 servers do.
pub fn http_get(addr: &str, path: &str, timeout: Duration) -> anyhow::Result<(u16, String)> {
    let end = Instant::now() + timeout;
    let remaining = || {
        end.checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .context("HTTP request timed out")
    };
    let target = addr
        .to_socket_addrs()
        .with_context(|| format!("resolve {addr}"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))?;
    let mut stream = TcpStream::connect_timeout(&target, remaining()?)
        .with_context(|| format!("connect to {addr}"))?;
    stream.set_write_timeout(Some(remaining()?))?;
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: bosun-tests\r\nConnection: close\r\n\r\n"
    )
    .with_context(|| format!("send request to {addr}"))?;

    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        stream.set_read_timeout(Some(remaining()?))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // Some servers reset the connection right after the body; keep what arrived.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset && !response.is_empty() => {
                break
            }
            Err(e) => return Err(e).with_context(|| format!("read response from {addr}")),
        }
    }
    parse_response(&response).with_context(|| format!("response from {addr}{path}"))
}

/// Status code and body of a complete HTTP/1.x response.
fn parse_response(response: &[u8]) -> anyhow::Result<(u16, String)> {
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, p + 4))
        .or_else(|| {
            response
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|p| (p, p + 2))
        });
    let Some((head_len, body_start)) = head_end else {
        bail!(
            "incomplete HTTP response: {:?}",
            String::from_utf8_lossy(response)
        );
    };
    let head = String::from_utf8_lossy(&response[..head_len]);
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        bail!("bad status line {status_line:?}");
    };
    if !version.starts_with("HTTP/") {
        bail!("bad status line {status_line:?}");
    }
    let code: u16 = code
        .parse()
        .with_context(|| format!("bad status line {status_line:?}"))?;
    Ok((
        code,
        String::from_utf8_lossy(&response[body_start..]).into_owned(),
    ))
}

/// TCP ports process `pid` listens on (IPv4 and IPv6), read from `/proc`: the sockets among
/// its file descriptors that are in the LISTEN state.
pub fn listening_ports(pid: u32) -> anyhow::Result<Vec<u16>> {
    let mut inodes = std::collections::HashSet::new();
    let fds = format!("/proc/{pid}/fd");
    for fd in std::fs::read_dir(&fds).with_context(|| format!("read {fds}"))? {
        let Ok(target) = std::fs::read_link(fd?.path()) else {
            continue; // closed meanwhile
        };
        let t = target.to_string_lossy();
        if let Some(inode) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
            inodes.insert(inode.to_string());
        }
    }
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let path = format!("/proc/{pid}/net/{table}");
        let text = std::fs::read_to_string(&path).with_context(|| format!("read {path}"))?;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address rem_address st ... inode (field 9)
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                let port = f[1].rsplit(':').next().unwrap_or_default();
                ports.push(u16::from_str_radix(port, 16).context("port in /proc")?);
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    Ok(ports)
}

/// What a server at `addr` answers to a plaintext HTTP/2 connection preface followed by an
/// HTTP/1.1 request: the first bytes it sends back before `timeout` (empty if it closed or
/// said nothing). A plaintext HTTP/2 server answers with a SETTINGS frame, an HTTP/1 one
/// with `HTTP/1.1`; a TLS server with an alert record (first byte 0x15) or nothing.
pub fn plaintext_answer(addr: &str, timeout: Duration) -> anyhow::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr).with_context(|| format!("connect {addr}"))?;
    s.set_read_timeout(Some(timeout))?;
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")?;
    let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = vec![0u8; 64];
    let n = match s.read(&mut buf) {
        Ok(n) => n,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::ConnectionReset
            ) =>
        {
            0
        }
        Err(e) => return Err(e).context("read"),
    };
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;

    #[test]
    fn free_port_is_bindable() {
        let port = free_port();
        assert_ne!(port, 0);
        TcpListener::bind(("127.0.0.1", port)).unwrap();
        assert_ne!(free_port(), 0);
    }

    /// Serves one request, answering with `response`; returns the request line it saw.
    fn serve_once(response: &'static str) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = std::io::BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut stream = reader.into_inner();
            stream.write_all(response.as_bytes()).unwrap();
            request_line
        });
        (addr, handle)
    }

    #[test]
    fn get_status_and_body() {
        let (addr, server) =
            serve_once("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\nhello from bosun\n");
        let (status, body) = http_get(&addr, "/index.html", Duration::from_secs(10)).unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, "hello from bosun\n");
        assert_eq!(server.join().unwrap(), "GET /index.html HTTP/1.0\r\n");

        let (addr, server) = serve_once("HTTP/1.1 404 Not Found\r\n\r\n");
        let (status, body) = http_get(&addr, "missing", Duration::from_secs(10)).unwrap();
        assert_eq!((status, body.as_str()), (404, ""));
        assert_eq!(server.join().unwrap(), "GET /missing HTTP/1.0\r\n");
    }

    #[test]
    fn errors_and_timeouts() {
        // Nobody listens.
        let port = free_port();
        let err = http_get(&format!("127.0.0.1:{port}"), "/", Duration::from_secs(5)).unwrap_err();
        assert!(format!("{err:#}").contains("connect to"), "{err:#}");

        // A server that accepts and never answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let start = Instant::now();
        let err = http_get(&addr, "/", Duration::from_millis(300)).unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5), "{err:#}");
        drop(listener);

        assert!(parse_response(b"garbage").is_err());
        assert!(parse_response(b"SSH-2.0 x\r\n\r\n").is_err());
    }

    #[test]
    fn tcp_connects_detects_a_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        assert!(tcp_connects(&addr, Duration::from_secs(2)));
        drop(listener);
        assert!(!tcp_connects(&addr, Duration::from_secs(2)));
    }
}
