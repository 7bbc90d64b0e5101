//! Name lookups with a time limit, and connection attempts that share one.
//!
//! The system's resolver (`getaddrinfo`) has no timeout a program can set: a dead DNS
//! server holds the caller for as long as the resolver's own retries take (tens of seconds).
//! So the lookup runs on a helper thread and the caller waits for it at most its timeout; a
//! lookup still running after that is left to finish on its own. At most
//! [`MAX_PENDING_LOOKUPS`] may be left so at once: the next fails at once instead of adding a
//! thread.
//!
//! A name with several addresses is tried address by address within one connect timeout,
//! not one timeout each: each attempt gets an equal share of what is left.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{NetError, NetErrorKind};

/// Lookups that may still be running after their caller stopped waiting.
pub const MAX_PENDING_LOOKUPS: usize = 8;

static PENDING: AtomicUsize = AtomicUsize::new(0);

/// The addresses of `host:port`, waiting at most `timeout` for the system's resolver.
pub fn lookup(host: &str, port: u16, timeout: Duration) -> Result<Vec<SocketAddr>, NetError> {
    let owned = host.to_owned();
    lookup_with(host, timeout, move || {
        (owned.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect)
    })
}

/// [`lookup`] with the lookup itself given (tests give a slow one).
pub fn lookup_with<F>(
    host: &str,
    timeout: Duration,
    resolve: F,
) -> Result<Vec<SocketAddr>, NetError>
where
    F: FnOnce() -> io::Result<Vec<SocketAddr>> + Send + 'static,
{
    if PENDING.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING_LOOKUPS {
        PENDING.fetch_sub(1, Ordering::SeqCst);
        return Err(NetError::new(
            NetErrorKind::NameNotResolved,
            format!("{host}: earlier lookups are still waiting for the name server"),
        ));
    }
    let (tx, rx) = flume::bounded(1);
    let spawned = std::thread::Builder::new()
        .name("lookup".into())
        .spawn(move || {
            let result = resolve();
            PENDING.fetch_sub(1, Ordering::SeqCst);
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        PENDING.fetch_sub(1, Ordering::SeqCst);
        return Err(NetError::from_io(&e));
    }
    match rx.recv_timeout(timeout) {
        Ok(Ok(addrs)) if addrs.is_empty() => {
            Err(NetError::new(NetErrorKind::NameNotResolved, host))
        }
        Ok(Ok(addrs)) => Ok(addrs),
        Ok(Err(e)) => Err(NetError::new(
            NetErrorKind::NameNotResolved,
            format!("{host}: {e}"),
        )),
        Err(_) => Err(NetError::new(
            NetErrorKind::NameNotResolved,
            format!(
                "{host}: no answer from the name server within {:.1} s",
                timeout.as_secs_f64()
            ),
        )),
    }
}

/// Lookups left running now.
pub fn pending_lookups() -> usize {
    PENDING.load(Ordering::SeqCst)
}

/// How long the next of `left` attempts may take, when all of them share `total` from
/// `started`: an equal share of what remains (at least 100 ms, so a last address is still
/// tried for real).
pub fn attempt_timeout(total: Duration, started: Instant, left: usize) -> Duration {
    let remaining = total.saturating_sub(started.elapsed());
    let share = remaining / u32::try_from(left.max(1)).unwrap_or(u32::MAX);
    share.max(Duration::from_millis(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_that_hangs_is_given_up_after_its_timeout() {
        let started = Instant::now();
        let err = lookup_with("slow.example", Duration::from_millis(200), || {
            std::thread::sleep(Duration::from_secs(2));
            Ok(vec!["127.0.0.1:1".parse().unwrap()])
        })
        .unwrap_err();
        assert_eq!(err.kind, NetErrorKind::NameNotResolved);
        assert!(err.detail.contains("no answer"), "{}", err.detail);
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[test]
    fn a_quick_lookup_answers() {
        let addrs = lookup_with("quick.example", Duration::from_secs(5), || {
            Ok(vec!["127.0.0.1:7".parse().unwrap()])
        })
        .unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:7".parse::<SocketAddr>().unwrap()]);
        assert!(lookup("localhost", 7, Duration::from_secs(5)).is_ok());
    }

    #[test]
    fn attempts_share_one_timeout() {
        let total = Duration::from_secs(6);
        let now = Instant::now();
        let first = attempt_timeout(total, now, 3);
        assert!(first <= Duration::from_secs(2) && first > Duration::from_millis(1900));
        let long_ago = now - Duration::from_secs(10);
        assert_eq!(
            attempt_timeout(total, long_ago, 2),
            Duration::from_millis(100)
        );
    }
}
