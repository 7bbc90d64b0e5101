//! The kernel's own view of TCP sockets, so the lifecycle view shows what Linux says a
//! connection's state is instead of guessing it from the calls that were made.
//!
//! Two read-only sources, both usable by an ordinary user (no root, no `CAP_NET_ADMIN`):
//!
//! - [`tcp_info`]: `getsockopt(IPPROTO_TCP, TCP_INFO)` on a socket this process holds. It
//!   gives the state plus the numbers behind it: smoothed round-trip time, congestion window,
//!   retransmissions, bytes acknowledged and received. It needs a descriptor, so it can only
//!   describe a socket that has not been closed yet.
//! - [`tcp_sockets`] and [`state_of`]: the socket diagnostics interface (`NETLINK_SOCK_DIAG`,
//!   the one `ss` uses) lists every TCP socket of the network namespace by address and port.
//!   This is the only way to watch what happens after `close()`: the side that closes first
//!   ends in TIME_WAIT for a minute, and by then it has no descriptor any more. The kernel
//!   keeps that state in a small "timewait socket" that sock_diag reports under the old
//!   4-tuple. A socket still open in FIN_WAIT2 when the peer's FIN arrives also moves its
//!   4-tuple to such a timewait socket; its descriptor then reports CLOSED.
//!
//! Those are Linux's; `net::sys` gives the same facts elsewhere where the system has them
//! (Windows: `SIO_TCP_INFO` and the connection table; macOS: `TCP_CONNECTION_INFO`, live
//! sockets only). Nothing here changes a socket. Where a system cannot tell, a function
//! returns an error ([`io::ErrorKind::Unsupported`] or the system's own) and [`availability`]
//! says so, so a panel can show "not available on this system" instead of a half-working
//! view.

use std::io;
use std::net::SocketAddr;

use socket2::SockRef;

use super::sys;
pub use super::sys::{Availability, DiagEntry, States, TcpInfo};
use super::trace::TcpState;

/// Every TCP state, for [`tcp_sockets`].
pub const ALL_STATES: States = States::ALL;

/// The states for [`tcp_sockets`]: exactly `states`.
///
/// CLOSED can be asked for but never matches: a closed socket is in none of the tables the
/// kernel walks.
pub fn states_mask(states: &[TcpState]) -> States {
    States::of(states)
}

/// What this system can show. Probes socket diagnostics once (a dump of IPv4 listeners) and
/// remembers the answer, so it is cheap to call every frame.
pub fn availability() -> Availability {
    static PROBE: std::sync::OnceLock<Availability> = std::sync::OnceLock::new();
    *PROBE.get_or_init(sys::kernel_availability)
}

/// Reads `TCP_INFO` from a TCP socket this process holds: a `TcpStream`, a `TcpListener`, a
/// `socket2::Socket`, a `mio` socket, a `BorrowedFd`, ... Fails with the OS error when the
/// socket is not TCP, and with [`io::ErrorKind::Unsupported`] on systems other than Linux.
pub fn tcp_info<'s, S>(socket: &'s S) -> io::Result<TcpInfo>
where
    SockRef<'s>: From<&'s S>,
{
    sys::tcp_info(SockRef::from(socket))
}

/// Lists the TCP sockets of one address family (`family_v6` false: IPv4, true: IPv6) whose
/// state is in `states` (see [`states_mask`] and [`ALL_STATES`]). Covers every socket in this network namespace, not just this
/// process's. IPv4 connections made through a dual-stack IPv6 socket are listed under IPv6,
/// with IPv4-mapped addresses (`::ffff:a.b.c.d`).
pub fn tcp_sockets(family_v6: bool, states: States) -> io::Result<Vec<DiagEntry>> {
    sys::tcp_sockets(family_v6, states)
}

/// The state of the TCP socket with exactly this local and remote address, whether or not a
/// descriptor still refers to it: this is how TIME_WAIT after `close()` is seen. `Ok(None)`
/// when no such socket exists (never connected, or gone for good).
///
/// IPv4 and IPv4-mapped IPv6 addresses are treated as the same, and an IPv6 scope id is
/// ignored, so the addresses `local_addr()` and `peer_addr()` return can be passed as they are.
pub fn state_of(local: SocketAddr, remote: SocketAddr) -> io::Result<Option<TcpState>> {
    let local = canonical(local);
    let remote = canonical(remote);
    // An IPv4 pair may belong to an IPv4 socket or to a dual-stack IPv6 one.
    let families: &[bool] = if local.is_ipv4() && remote.is_ipv4() {
        &[false, true]
    } else {
        &[true]
    };
    for &family_v6 in families {
        let found = tcp_sockets(family_v6, ALL_STATES)?
            .into_iter()
            .find(|entry| canonical(entry.local) == local && canonical(entry.remote) == remote);
        if let Some(entry) = found {
            return Ok(Some(entry.state));
        }
    }
    Ok(None)
}

/// The states of many connections from one walk of the socket table per address family
/// (each `state_of` walks the whole table: following fifty closed connections that way on a
/// machine with a thousand sockets in TIME_WAIT cost a server's loop 60-140 ms stalls).
/// One entry per pair, in order; `None` where the kernel has no such socket.
pub fn states_of(pairs: &[(SocketAddr, SocketAddr)]) -> io::Result<Vec<Option<TcpState>>> {
    use std::collections::HashMap;
    let want: Vec<(SocketAddr, SocketAddr)> = pairs
        .iter()
        .map(|(l, r)| (canonical(*l), canonical(*r)))
        .collect();
    let mut found: HashMap<(SocketAddr, SocketAddr), TcpState> = HashMap::new();
    let any_v4 = want.iter().any(|(l, r)| l.is_ipv4() && r.is_ipv4());
    let any_v6 = !want.is_empty();
    // IPv4 pairs may belong to dual-stack IPv6 sockets too, so the IPv6 table is always read
    // when there is anything to look for.
    for (family_v6, wanted) in [(false, any_v4), (true, any_v6)] {
        if !wanted {
            continue;
        }
        for entry in tcp_sockets(family_v6, ALL_STATES)? {
            found
                .entry((canonical(entry.local), canonical(entry.remote)))
                .or_insert(entry.state);
        }
    }
    Ok(want.iter().map(|k| found.get(k).copied()).collect())
}

/// The address with IPv4-mapped IPv6 turned into IPv4, without flow info or scope id.
fn canonical(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

/// A closed connection to follow in the socket table until it is gone (FIN_WAIT2, TIME_WAIT).
struct Follow {
    local: SocketAddr,
    remote: SocketAddr,
    last: Option<TcpState>,
    until: std::time::Instant,
    /// Called with each new state; false: stop following.
    report: Box<dyn FnMut(TcpState) -> bool + Send>,
}

static FOLLOWER: std::sync::Mutex<Option<flume::Sender<Follow>>> = std::sync::Mutex::new(None);

/// How often followed connections are looked up.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Follows a closed connection `local → remote` in the kernel's socket table for at most
/// `limit`, calling `report` with each state it passes through, and with CLOSED once it is
/// gone. One shared thread ("kernel-follow") does this for every connection; it starts when
/// needed and ends a second after its last connection is gone, so closed sessions leave no
/// thread of their own behind.
pub fn follow(
    local: SocketAddr,
    remote: SocketAddr,
    last: Option<TcpState>,
    limit: std::time::Duration,
    report: impl FnMut(TcpState) -> bool + Send + 'static,
) {
    let job = Follow {
        local,
        remote,
        last,
        until: std::time::Instant::now() + limit,
        report: Box::new(report),
    };
    let mut slot = FOLLOWER.lock().unwrap_or_else(|p| p.into_inner());
    let job = match slot.as_ref() {
        Some(tx) => match tx.send(job) {
            Ok(()) => return,
            Err(flume::SendError(job)) => job,
        },
        None => job,
    };
    let (tx, rx) = flume::unbounded();
    let _ = tx.send(job);
    if std::thread::Builder::new()
        .name("kernel-follow".into())
        .spawn(move || follow_loop(&rx))
        .is_ok()
    {
        *slot = Some(tx);
    }
}

fn follow_loop(rx: &flume::Receiver<Follow>) {
    let mut jobs: Vec<Follow> = Vec::new();
    let mut idle_since = None;
    loop {
        jobs.extend(rx.try_iter());
        if jobs.is_empty() {
            let since = *idle_since.get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= std::time::Duration::from_secs(1) {
                let mut slot = FOLLOWER.lock().unwrap_or_else(|p| p.into_inner());
                // A job sent while we decided to stop is taken, not lost.
                jobs.extend(rx.try_iter());
                if jobs.is_empty() {
                    *slot = None;
                    return;
                }
            }
        } else {
            idle_since = None;
        }
        let now = std::time::Instant::now();
        let pairs: Vec<_> = jobs.iter().map(|j| (j.local, j.remote)).collect();
        let Ok(states) = states_of(&pairs) else {
            jobs.clear();
            continue;
        };
        let mut states = states.into_iter();
        jobs.retain_mut(|job| {
            let state = states.next().flatten().unwrap_or(TcpState::Closed);
            if job.last != Some(state) {
                job.last = Some(state);
                if !(job.report)(state) {
                    return false;
                }
            }
            state != TcpState::Closed && now < job.until
        });
        std::thread::sleep(FOLLOW_EVERY);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_folds_mapped_addresses() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        let plain: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert_eq!(canonical(mapped), plain);
        let scoped = SocketAddr::V6(std::net::SocketAddrV6::new(
            std::net::Ipv6Addr::LOCALHOST,
            80,
            7,
            3,
        ));
        assert_eq!(canonical(scoped), "[::1]:80".parse::<SocketAddr>().unwrap());
    }
}
