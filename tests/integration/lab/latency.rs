//! Latency on loopback, where `tc netem` is not available: a TCP proxy that delays each
//! direction of a connection by a one-way delay D, and the queue the DNS server uses to
//! answer a round trip late.
//!
//! Over a link with one-way delay D, a TCP connection goes: SYN at 0, SYN-ACK back at 2D
//! (the client's `connect` returns), the ACK, with the client's first bytes, at the server
//! at 3D (its `accept` returns; only now can it write), and the server's first bytes back
//! at 4D. So a banner arrives 2 RTT after the client starts to connect, and a ServerHello
//! answering a ClientHello sent on connect arrives 2 RTT after it too. On loopback the
//! handshake takes no time; the proxy puts it back: it reads nothing from the client
//! before 2D (its first bytes wait in the kernel meanwhile), and delivers nothing from the
//! server before 4D. After that each chunk arrives D after the proxy read it, through a
//! queue of timestamped chunks, so the delay adds latency without serializing throughput.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

use super::{Task, accept_loop};

/// Chunks in flight in one direction: a window, so that a reader that stops reading
/// stops the sender instead of filling memory (an endless body).
const IN_FLIGHT: usize = 256;
/// Bound on one chunk read.
const CHUNK: usize = 16 * 1024;

/// A chunk and the time it is due at the far end; an empty chunk is the end of the stream.
pub(super) type Due<T> = (Instant, T);

/// A TCP proxy on 127.0.0.1 to one lab server, with a one-way delay; it stops when dropped.
pub struct LatencyProxy {
    addr: SocketAddr,
    _task: Task,
}

impl LatencyProxy {
    /// Relays each connection to `upstream`, `one_way` late in each direction.
    pub async fn start(upstream: SocketAddr, one_way: Duration) -> LatencyProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the latency proxy");
        let addr = listener.local_addr().expect("proxy address");
        let task = accept_loop(listener, move |client, _| relay(client, upstream, one_way));
        LatencyProxy { addr, _task: task }
    }

    /// Where to connect instead of the server.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, d: Duration) {
    let accepted = Instant::now();
    let Ok(server) = TcpStream::connect(upstream).await else {
        // The client's connect already succeeded; a reset is the nearest to a refusal.
        let _ = client.set_zero_linger();
        return;
    };
    // Each chunk is written as soon as it is due; Nagle would hold small ones back.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (from_client, to_client) = client.into_split();
    let (from_server, to_server) = server.into_split();
    let up = async {
        sleep_until(accepted + 2 * d).await;
        pipe(from_client, to_server, d, accepted).await;
    };
    let down = pipe(from_server, to_client, d, accepted + 4 * d);
    tokio::join!(up, down);
}

/// Copies `from` to `to`, each chunk due `d` after it was read and none before
/// `not_before`; the end of `from` is passed on (as a shutdown) the same way.
async fn pipe<R, W>(mut from: R, to: W, d: Duration, not_before: Instant)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let read = async move {
        let mut buf = vec![0; CHUNK];
        loop {
            // An error ends the stream like an EOF: the far end sees it close.
            let n = from.read(&mut buf).await.unwrap_or(0);
            let due = (Instant::now() + d).max(not_before);
            if tx.send((due, buf[..n].to_vec())).await.is_err() || n == 0 {
                return;
            }
        }
    };
    tokio::join!(read, write_when_due(rx, to));
}

/// Writes each chunk of `rx` to `to` when it is due, and shuts `to` down at the empty one.
pub(super) async fn write_when_due<W: AsyncWrite + Unpin>(
    mut rx: mpsc::Receiver<Due<Vec<u8>>>,
    mut to: W,
) {
    while let Some((due, chunk)) = rx.recv().await {
        wait_until(due).await;
        if chunk.is_empty() {
            let _ = to.shutdown().await;
            return;
        }
        if to.write_all(&chunk).await.is_err() {
            return;
        }
    }
}

/// Sleeps until `due`, and not at all when it has passed (no delay configured).
pub(super) async fn wait_until(due: Instant) {
    if due > Instant::now() {
        sleep_until(due).await;
    }
}
