//! This machine's own addresses: what a server can bind to, and what students should type.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The addresses of this machine's interfaces (loopback included), IPv4 first.
pub fn local_ips() -> Vec<IpAddr> {
    let mut ips: Vec<IpAddr> = if_addrs::get_if_addrs()
        .map(|ifs| ifs.into_iter().map(|i| i.ip()).collect())
        .unwrap_or_default();
    ips.sort_by_key(|ip| (ip.is_ipv6(), ip.is_loopback(), *ip));
    ips.dedup();
    ips
}

/// The index of the interface that holds `addr` (IPv6 names interfaces by index, for
/// multicast): `NotFound` when no interface of this machine has that address.
pub fn index_of(addr: Ipv6Addr) -> std::io::Result<u32> {
    if_addrs::get_if_addrs()?
        .into_iter()
        .find(|i| i.ip() == IpAddr::V6(addr))
        .and_then(|i| i.index)
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no interface of this machine has the address {addr}"),
            )
        })
}

/// Broadcast addresses to offer: loopback's own (127.255.255.255, which stays on this
/// machine), each IPv4 interface's directed broadcast, then the limited broadcast.
pub fn broadcast_addrs() -> Vec<Ipv4Addr> {
    let mut out = vec![Ipv4Addr::new(127, 255, 255, 255)];
    if let Ok(ifs) = if_addrs::get_if_addrs() {
        for iface in ifs {
            if let if_addrs::IfAddr::V4(v4) = iface.addr
                && let Some(b) = v4.broadcast
                && !v4.ip.is_loopback()
                && !out.contains(&b)
            {
                out.push(b);
            }
        }
    }
    out.push(Ipv4Addr::BROADCAST);
    out
}

/// What the bind-address picker offers: all IPv4, all IPv6, the two loopbacks, then every
/// interface address.
pub fn bind_choices() -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = vec![
        Ipv4Addr::UNSPECIFIED.into(),
        Ipv6Addr::UNSPECIFIED.into(),
        Ipv4Addr::LOCALHOST.into(),
        Ipv6Addr::LOCALHOST.into(),
    ];
    for ip in local_ips() {
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// The addresses a client should type to reach a server listening on `local`: every local
/// address of the right family when bound to the wildcard, else just `local`.
pub fn reachable(local: SocketAddr, ips: &[IpAddr]) -> Vec<SocketAddr> {
    if !local.ip().is_unspecified() {
        return vec![local];
    }
    // On Linux and macOS an IPv6 wildcard socket also takes IPv4 connections by default.
    let v6 = local.is_ipv6();
    let mut out: Vec<SocketAddr> = ips
        .iter()
        .filter(|ip| v6 || ip.is_ipv4())
        .filter(|ip| !matches!(ip, IpAddr::V6(v6ip) if v6ip.segments()[0] & 0xffc0 == 0xfe80))
        .map(|ip| SocketAddr::new(*ip, local.port()))
        .collect();
    // Addresses students on other machines can use come first; loopback last.
    out.sort_by_key(|a| (a.ip().is_loopback(), a.is_ipv6()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_lists_every_address_of_its_family() {
        let ips: Vec<IpAddr> = ["127.0.0.1", "10.1.2.3", "::1", "fe80::1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let v4 = reachable("0.0.0.0:7890".parse().unwrap(), &ips);
        assert_eq!(
            v4,
            vec![
                "10.1.2.3:7890".parse().unwrap(),
                "127.0.0.1:7890".parse().unwrap()
            ]
        );
        let v6 = reachable("[::]:7890".parse().unwrap(), &ips);
        assert_eq!(v6.len(), 3, "link-local left out: {v6:?}");
        let one = reachable("127.0.0.1:5".parse().unwrap(), &ips);
        assert_eq!(one, vec!["127.0.0.1:5".parse().unwrap()]);
        assert!(bind_choices().len() >= 4);
    }
}
