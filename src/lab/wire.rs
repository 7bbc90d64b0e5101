//! The simulated wire: per direction, packets with their delivery times, and what the wire
//! did to each (its fate), decided when the packet enters, from a seeded generator, so the
//! same seed and settings give the same run.

use smoltcp::wire::{IpProtocol, Ipv4Packet, TcpPacket};

/// Which way a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client to server.
    C2S,
    /// Server to client.
    S2C,
}

/// What the wire did to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Arrives at this virtual time.
    Delivered { at_us: u64 },
    /// Lost on the way (the loss setting).
    Lost,
    /// Arrives at this time with one byte of its TCP or UDP part flipped: the receiver's
    /// checksum check throws it away.
    Corrupted { at_us: u64 },
}

/// A TCP segment's header, as the lesson reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: Option<u32>,
    pub window: u16,
    /// SYN, FIN, RST, PSH, ACK, in that order, where set.
    pub flags: Vec<&'static str>,
    /// Payload bytes.
    pub len: usize,
}

/// One packet as it entered the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketRecord {
    /// 1, 2, 3, ... in the order packets entered the wire.
    pub id: u64,
    pub t_us: u64,
    pub dir: Dir,
    /// The TCP header, if it is a TCP segment.
    pub tcp: Option<Segment>,
    /// The whole IP packet's length.
    pub bytes: usize,
    pub fate: Fate,
    /// The same sequence space (seq, length, SYN/FIN) went this way before: a resend.
    pub retransmission: bool,
    /// The IP packet as it entered the wire.
    pub data: Vec<u8>,
    /// A corrupted packet as it was delivered.
    pub delivered: Option<Vec<u8>>,
}

/// The wire's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WireSettings {
    /// One-way delay.
    pub delay_us: u64,
    /// Chance of losing a packet, 0 to 100.
    pub loss_pct: f64,
    /// Chance of flipping one byte of a packet's TCP or UDP part, 0 to 100.
    pub corrupt_pct: f64,
}

impl Default for WireSettings {
    fn default() -> Self {
        Self {
            delay_us: 20_000,
            loss_pct: 0.0,
            corrupt_pct: 0.0,
        }
    }
}

/// A small, fast, seeded generator (xorshift64*): the same seed, the same run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// True with `pct` percent chance.
    pub fn chance(&mut self, pct: f64) -> bool {
        pct > 0.0 && (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 100.0 < pct
    }
}

pub(super) struct Wire {
    settings: WireSettings,
    rng: Rng,
    next_id: u64,
    /// (delivery time, id, direction, bytes), in the order they entered.
    flying: Vec<(u64, u64, Dir, Vec<u8>)>,
    /// Sequence space already sent each way: (direction, seq, length, SYN, FIN).
    sent: std::collections::HashSet<(Dir, u32, usize, bool, bool)>,
    /// The next data segment this way gets this fate.
    pub(super) spoil_next: Option<(Dir, super::scenario::Spoil)>,
}

impl Wire {
    pub(super) fn new(settings: WireSettings, rng: Rng) -> Self {
        Self {
            settings,
            rng,
            next_id: 1,
            flying: Vec::new(),
            sent: std::collections::HashSet::new(),
            spoil_next: None,
        }
    }

    /// A packet enters the wire at `now_us`; returns its record.
    pub(super) fn enter(&mut self, now_us: u64, dir: Dir, mut bytes: Vec<u8>) -> PacketRecord {
        let entered = bytes.clone();
        let id = self.next_id;
        self.next_id += 1;
        let tcp = parse_tcp(&bytes);
        let at_us = now_us + self.settings.delay_us;
        let spoil = match self.spoil_next {
            Some((d, how)) if d == dir && tcp.as_ref().is_some_and(|t| t.len > 0) => {
                self.spoil_next = None;
                Some(how)
            }
            _ => None,
        };
        let fate = if spoil == Some(super::scenario::Spoil::Lose)
            || self.rng.chance(self.settings.loss_pct)
        {
            Fate::Lost
        } else if spoil == Some(super::scenario::Spoil::Corrupt)
            || self.rng.chance(self.settings.corrupt_pct)
        {
            // One byte past the IP header (the checksummed transport part), never zero
            // flipped to zero.
            let header = bytes.first().map_or(20, |b| usize::from(b & 0x0f) * 4);
            if bytes.len() > header {
                let span = (bytes.len() - header) as u64;
                let at = header + (self.rng.next_u64() % span) as usize;
                bytes[at] ^= 0x5a;
            }
            Fate::Corrupted { at_us }
        } else {
            Fate::Delivered { at_us }
        };
        let retransmission = tcp.as_ref().is_some_and(|t| {
            let syn = t.flags.contains(&"SYN");
            let fin = t.flags.contains(&"FIN");
            (t.len > 0 || syn || fin) && !self.sent.insert((dir, t.seq, t.len, syn, fin))
        });
        let record = PacketRecord {
            id,
            t_us: now_us,
            dir,
            tcp,
            bytes: bytes.len(),
            fate,
            retransmission,
            delivered: matches!(fate, Fate::Corrupted { .. }).then(|| bytes.clone()),
            data: entered,
        };
        if let Fate::Delivered { at_us } | Fate::Corrupted { at_us } = fate {
            self.flying.push((at_us, id, dir, bytes));
        }
        record
    }

    pub(super) fn next_delivery(&self) -> Option<u64> {
        self.flying.iter().map(|f| f.0).min()
    }

    /// The earliest packet due by `now_us`, if any (ties in the order they entered).
    pub(super) fn take_due(&mut self, now_us: u64) -> Option<(Dir, Vec<u8>)> {
        let (i, _) = self
            .flying
            .iter()
            .enumerate()
            .filter(|(_, f)| f.0 <= now_us)
            .min_by_key(|(_, f)| (f.0, f.1))?;
        let (_, _, dir, bytes) = self.flying.remove(i);
        Some((dir, bytes))
    }
}

/// The TCP header of an IPv4 packet, if that is what it carries.
pub fn parse_tcp(bytes: &[u8]) -> Option<Segment> {
    let ip = Ipv4Packet::new_checked(bytes).ok()?;
    if ip.next_header() != IpProtocol::Tcp {
        return None;
    }
    let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
    let mut flags = Vec::new();
    for (on, name) in [
        (tcp.syn(), "SYN"),
        (tcp.fin(), "FIN"),
        (tcp.rst(), "RST"),
        (tcp.psh(), "PSH"),
        (tcp.ack(), "ACK"),
    ] {
        if on {
            flags.push(name);
        }
    }
    Some(Segment {
        src_port: tcp.src_port(),
        dst_port: tcp.dst_port(),
        seq: tcp.seq_number().0 as u32,
        ack: tcp.ack().then(|| tcp.ack_number().0 as u32),
        window: tcp.window_len(),
        flags,
        len: tcp.payload().len(),
    })
}
