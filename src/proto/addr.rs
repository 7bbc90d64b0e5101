//! Addresses as people type them: `HOST:PORT`, `[V6]:PORT`, a listen address or a bare port.
//! Pure parsing; the engines and the command line turn an [`AddrError`] into their error.

use std::net::{IpAddr, SocketAddr};

/// What is wrong with a typed address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrError {
    /// No host before the port.
    EmptyHost(String),
    /// No port, or not a number from 1 to 65535 (0 where a listen port is not allowed).
    InvalidPort(String),
    /// A listen address that is not an IP address of this machine's kind.
    NotAnAddress(String),
}

/// Strips the brackets users type around IPv6 literals (`[::1]`).
/// A port typed by the user to connect to: 1–65535.
pub fn parse_port(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok().filter(|p| *p != 0)
}

/// A port typed by the user to listen on: 0–65535 (0 lets the OS choose).
pub fn parse_listen_port(text: &str) -> Option<u16> {
    text.trim().parse::<u16>().ok()
}

pub fn normalize_host(host: &str) -> &str {
    let host = host.trim();
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Splits `HOST:PORT` or `[V6]:PORT`; the port must be 1 to 65535.
pub fn split_host_port(target: &str) -> Result<(String, u16), AddrError> {
    let target = target.trim();
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        rest.split_once("]:")
            .ok_or_else(|| AddrError::InvalidPort(target.to_owned()))?
    } else {
        target
            .rsplit_once(':')
            .ok_or_else(|| AddrError::InvalidPort(target.to_owned()))?
    };
    let host = normalize_host(host);
    if host.is_empty() {
        return Err(AddrError::EmptyHost(target.to_owned()));
    }
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| AddrError::InvalidPort(port.to_owned()))?;
    Ok((host.to_owned(), port))
}

/// Parses a listen address: `ADDR:PORT`, `[V6]:PORT`, or a bare port (all IPv4 addresses).
/// Port 0 lets the system choose.
pub fn parse_listen_addr(text: &str) -> Result<SocketAddr, AddrError> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| AddrError::InvalidPort(text.to_owned()))?;
    let port = port
        .parse::<u16>()
        .map_err(|_| AddrError::InvalidPort(port.to_owned()))?;
    let ip = normalize_host(host)
        .parse::<IpAddr>()
        .map_err(|_| AddrError::NotAnAddress(host.to_owned()))?;
    Ok(SocketAddr::new(ip, port))
}
