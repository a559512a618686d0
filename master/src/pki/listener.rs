//! [`incoming`]: the master's one port, TLS only. Handshakes run concurrently (a slow or
//! silent client never holds up the others) and end after [`HANDSHAKE_TIMEOUT`]; each
//! connection carries a [`PeerInfo`] (address and the identity its certificate names) into
//! every request, where the authorization checks read it. A refused handshake (no TLS, a
//! certificate of another CA, an expired one) is logged with the peer's address.
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bosun_shared::pki::Identity;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::transport::server::Connected;
use tracing::{debug, warn};

use super::ServerTls;

/// How long a client has to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes under way at once; more connections wait to be accepted.
const MAX_HANDSHAKES: usize = 256;
/// Established connections waiting for the server to take them.
const READY_BUFFER: usize = 64;

/// Who is on the other end of a connection.
#[derive(Debug, Clone)]
pub struct PeerInfo {
    pub remote: SocketAddr,
    /// `None`: the client presented no certificate (allowed only to ask for one).
    pub identity: Option<Arc<Identity>>,
}

impl PeerInfo {
    /// `node n1 (10.0.0.5:51234)`, or `an anonymous client (…)`.
    pub fn describe(&self) -> String {
        match &self.identity {
            Some(id) => format!("{id} ({})", self.remote),
            None => format!("a client without a certificate ({})", self.remote),
        }
    }
}

/// An accepted TLS connection.
pub struct TlsConn {
    stream: TlsStream<TcpStream>,
    peer: PeerInfo,
}

impl Connected for TlsConn {
    type ConnectInfo = PeerInfo;

    fn connect_info(&self) -> PeerInfo {
        self.peer.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Accepts connections on `listener` until `shutdown`, completing their TLS handshakes with
/// the current server configuration of `tls` (so a renewed certificate is used at once).
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ServerTls>,
    tasks: &TaskTracker,
    shutdown: CancellationToken,
) -> ReceiverStream<Result<TlsConn, io::Error>> {
    let (tx, rx) = mpsc::channel(READY_BUFFER);
    let handshakes = tasks.clone();
    tasks.spawn(async move {
        let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => return,
                p = slots.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let (tcp, remote) = tokio::select! {
                _ = shutdown.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: pause instead of spinning.
                        warn!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            // Without it every small reply waits for the peer's delayed ACK (~40 ms).
            let _ = tcp.set_nodelay(true);
            let acceptor = TlsAcceptor::from(tls.config());
            let tx = tx.clone();
            handshakes.spawn(async move {
                let _permit = permit;
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let peer = PeerInfo {
                            remote,
                            identity: identity_of(&stream, remote),
                        };
                        debug!(peer = %peer.describe(), "connection accepted");
                        let _ = tx.send(Ok(TlsConn { stream, peer })).await;
                    }
                    Ok(Err(e)) => warn!(%remote, error = %e, "refused a connection: TLS handshake failed"),
                    Err(_) => warn!(%remote, "refused a connection: no TLS handshake within {HANDSHAKE_TIMEOUT:?}"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// The identity in the client's certificate (verified by the handshake against the CA).
fn identity_of(stream: &TlsStream<TcpStream>, remote: SocketAddr) -> Option<Arc<Identity>> {
    let cert = stream.get_ref().1.peer_certificates()?.first()?;
    match Identity::from_der(cert) {
        Ok(id) => Some(Arc::new(id)),
        Err(e) => {
            warn!(%remote, error = %e, "client certificate names no Bosun identity");
            None
        }
    }
}
