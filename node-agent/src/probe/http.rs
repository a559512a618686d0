//! `httpGet` probes: a minimal HTTP/1.1 GET written by hand over a TCP connection; a status in
//! 200..400 is success. Only the status line is read. Redirects are not followed (a 3xx is a
//! success already) and there is no TLS (validation refuses `scheme: HTTPS`).
use std::time::Duration;

use bosun_shared::probe::HttpGetAction;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::action::Outcome;
use super::tcp::host_port;

/// The probes' `User-Agent`; it starts like the kubelet's (`kube-probe/1.33`), which
/// applications match to keep probes out of their access logs.
pub const USER_AGENT: &str = concat!("kube-probe/bosun-", env!("CARGO_PKG_VERSION"));
/// Longest status line read before the response counts as malformed.
const MAX_STATUS_LINE: usize = 4096;

/// GETs `http://host:port<path>`, at most `timeout`.
pub async fn get(host: &str, port: u16, action: &HttpGetAction, timeout: Duration) -> Outcome {
    let url = format!("http://{}{}", host_port(host, port), path(&action.path));
    match tokio::time::timeout(timeout, status_of(host, port, action)).await {
        Ok(Ok(code)) if (200..400).contains(&code) => Outcome::Success,
        Ok(Ok(code)) => Outcome::Failure(format!("HTTP probe failed with statuscode: {code}")),
        Ok(Err(e)) => Outcome::Failure(format!("Get {url:?}: {e}")),
        Err(_) => Outcome::Failure(format!(
            "Get {url:?}: no response within {}s",
            timeout.as_secs_f64()
        )),
    }
}

/// Sends the request and reads the status code of the response.
async fn status_of(host: &str, port: u16, action: &HttpGetAction) -> Result<u16, String> {
    let mut stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("dial tcp {}: {e}", host_port(host, port)))?;
    stream
        .write_all(request(host, port, action).as_bytes())
        .await
        .map_err(|e| format!("sending the request: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            return parse_status_line(&buf[..end]);
        }
        if buf.len() >= MAX_STATUS_LINE {
            return Err("malformed HTTP response: no status line".to_string());
        }
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("reading the response: {e}"))?;
        if n == 0 {
            return Err(if buf.is_empty() {
                "EOF: the connection closed without a response".to_string()
            } else {
                format!(
                    "malformed HTTP response {:?}",
                    String::from_utf8_lossy(&buf)
                )
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The status code of `HTTP/1.1 200 OK`.
fn parse_status_line(line: &[u8]) -> Result<u16, String> {
    let malformed = || {
        format!(
            "malformed HTTP response {:?}",
            String::from_utf8_lossy(line)
        )
    };
    let text = std::str::from_utf8(line).map_err(|_| malformed())?;
    let mut parts = text.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(malformed());
    }
    code.parse().map_err(|_| malformed())
}

/// The request: `GET`, `Host`, `User-Agent` and `Accept` (the probe's headers replace those of
/// the same name), the probe's headers, `Connection: close`.
pub fn request(host: &str, port: u16, action: &HttpGetAction) -> String {
    let own: Vec<(&str, &str)> = action
        .http_headers
        .iter()
        // Validation refuses these; a header must never split the request.
        .filter(|h| !format!("{}{}", h.name, h.value).contains(['\r', '\n']))
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect();
    let host_header = host_port(host, port);
    let mut headers: Vec<(&str, &str)> = vec![
        ("Host", &host_header),
        ("User-Agent", USER_AGENT),
        ("Accept", "*/*"),
    ];
    headers.retain(|(name, _)| !own.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)));
    headers.extend(own);
    let mut req = format!("GET {} HTTP/1.1\r\n", path(&action.path));
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    req
}

/// The request target: `/` when empty, with a leading `/` added when missing.
fn path(p: &str) -> String {
    if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

#[cfg(test)]
mod tests;
