//! The simulated wire: per direction, a bottleneck queue (bandwidth and length) and packets
//! with their delivery times, and what the wire did to each (its fate). Random fates are drawn
//! when a packet enters, from a seeded generator, so the same seed and settings give the same
//! run; the teacher's hand (hold, deliver, drop, corrupt, delay, duplicate) and a scenario's
//! rules ("lose the third data segment") act on chosen packets.

use std::collections::{HashSet, VecDeque};

use smoltcp::wire::{IpAddress, IpProtocol, Ipv4Packet, TcpPacket, UdpPacket};

/// Which way a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client to server.
    C2S,
    /// Server to client.
    S2C,
}

impl Dir {
    pub fn other(self) -> Dir {
        match self {
            Dir::C2S => Dir::S2C,
            Dir::S2C => Dir::C2S,
        }
    }

    /// `c2s` or `s2c`.
    pub fn name(self) -> &'static str {
        match self {
            Dir::C2S => "c2s",
            Dir::S2C => "s2c",
        }
    }
}

/// What the wire did to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Arrives at this virtual time.
    Delivered { at_us: u64 },
    /// Lost on the way (the loss setting, or a scenario's "lose this one").
    Lost,
    /// Taken off the wire by hand.
    Dropped,
    /// The bottleneck's queue was full when it came: dropped before the link.
    QueueFull,
    /// Arrives at this time with one byte of its TCP or UDP part flipped: the receiver's
    /// checksum check throws it away.
    Corrupted { at_us: u64 },
    /// Arrives twice: at `at_us` and a copy at `copy_at_us`.
    Duplicated { at_us: u64, copy_at_us: u64 },
    /// Held back on the wire so that packets sent after it overtake it.
    Reordered { at_us: u64 },
    /// Delayed by hand: arrives at this time.
    Delayed { at_us: u64 },
    /// Waiting on the wire until the teacher delivers or drops it.
    Held,
}

impl Fate {
    /// The word the command line and JSON use.
    pub fn name(self) -> &'static str {
        match self {
            Fate::Delivered { .. } => "delivered",
            Fate::Lost => "lost",
            Fate::Dropped => "dropped",
            Fate::QueueFull => "queue-full",
            Fate::Corrupted { .. } => "corrupted",
            Fate::Duplicated { .. } => "duplicated",
            Fate::Reordered { .. } => "reordered",
            Fate::Delayed { .. } => "delayed",
            Fate::Held => "held",
        }
    }

    /// When it arrives (the first copy), if it does.
    pub fn arrives_at(self) -> Option<u64> {
        match self {
            Fate::Delivered { at_us }
            | Fate::Corrupted { at_us }
            | Fate::Duplicated { at_us, .. }
            | Fate::Reordered { at_us }
            | Fate::Delayed { at_us } => Some(at_us),
            Fate::Lost | Fate::Dropped | Fate::QueueFull | Fate::Held => None,
        }
    }

    /// Never arrives (a lost, dropped or queue-dropped packet).
    pub fn is_gone(self) -> bool {
        matches!(self, Fate::Lost | Fate::Dropped | Fate::QueueFull)
    }
}

/// A TCP segment's header, as the lesson reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: Option<u32>,
    /// The window field as sent (scaled by the peer's window scale after the handshake).
    pub window: u16,
    /// SYN, FIN, RST, PSH, ACK, in that order, where set.
    pub flags: Vec<&'static str>,
    /// Payload bytes.
    pub len: usize,
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// SACK blocks (absolute sequence numbers).
    pub sack: Vec<(u32, u32)>,
    pub timestamp: Option<(u32, u32)>,
}

impl Segment {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    /// The sequence space it takes: payload, plus one for SYN and one for FIN.
    pub fn seq_len(&self) -> u32 {
        self.len as u32 + u32::from(self.has("SYN")) + u32::from(self.has("FIN"))
    }
}

/// A UDP datagram's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub src_port: u16,
    pub dst_port: u16,
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
    /// The UDP header, if it is a UDP datagram.
    pub udp: Option<Datagram>,
    /// The whole IP packet's length.
    pub bytes: usize,
    pub fate: Fate,
    /// The same sequence space (seq, length, SYN/FIN) went this way before: a resend.
    pub retransmission: bool,
    /// One byte sent into a window the peer had closed (0): a zero-window probe, not a
    /// resend (Wireshark says the same), even when it repeats an earlier probe's byte.
    pub zero_window_probe: bool,
    /// Put on the wire by the lab itself, not by a host's stack (the old duplicate SYN).
    pub injected: bool,
    /// The IP packet as it entered the wire.
    pub data: Vec<u8>,
    /// A corrupted packet as it was delivered.
    pub delivered: Option<Vec<u8>>,
}

impl PacketRecord {
    /// Does the checksum of the packet as delivered hold? (False only for corrupted ones.)
    pub fn checksum_ok(&self) -> bool {
        checksum_ok(self.delivered.as_deref().unwrap_or(&self.data))
    }

    /// Carries data (TCP payload or any UDP datagram).
    pub fn has_payload(&self) -> bool {
        self.tcp.as_ref().is_some_and(|t| t.len > 0) || self.udp.is_some()
    }
}

/// The wire's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WireSettings {
    /// One-way delay.
    pub delay_us: u64,
    /// The bottleneck's rate in bits per second; 0 for no limit.
    pub rate_bps: u64,
    /// Packets the bottleneck holds (waiting or being sent); a packet beyond is dropped.
    pub queue_pkts: usize,
    /// Chance of losing a packet, 0 to 100.
    pub loss_pct: f64,
    /// Chance of flipping one byte of a packet's TCP or UDP part, 0 to 100.
    pub corrupt_pct: f64,
    /// Chance of a packet arriving twice, 0 to 100.
    pub duplicate_pct: f64,
    /// Chance of a packet being held back so later ones overtake it, 0 to 100.
    pub reorder_pct: f64,
    /// Hold every packet until the teacher delivers it.
    pub hold: bool,
}

impl Default for WireSettings {
    fn default() -> Self {
        Self {
            delay_us: 20_000,
            rate_bps: 0,
            queue_pkts: 100,
            loss_pct: 0.0,
            corrupt_pct: 0.0,
            duplicate_pct: 0.0,
            reorder_pct: 0.0,
            hold: false,
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

/// What a rule or the teacher does to a chosen packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spoil {
    Lose,
    Corrupt,
    /// Hold it back so later packets overtake it.
    Reorder,
    Duplicate,
}

/// A scenario's rule: in direction `dir`, let `skip` packets with a payload pass, then
/// spoil the next `count` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub dir: Dir,
    pub skip: u32,
    pub count: u32,
    pub spoil: Spoil,
}

/// A packet on its way.
#[derive(Debug, Clone)]
struct Flying {
    at_us: u64,
    id: u64,
    dir: Dir,
    bytes: Vec<u8>,
}

pub(super) struct Wire {
    pub(super) settings: WireSettings,
    rng: Rng,
    next_id: u64,
    /// Packets on their way, in the order they entered.
    flying: Vec<Flying>,
    /// Packets waiting for the teacher, in the order they entered.
    held: VecDeque<Flying>,
    /// Per direction (C2S, S2C): when the bottleneck's link is free, and the times the
    /// packets in its queue finish being sent.
    link_free_at: [u64; 2],
    queue: [VecDeque<u64>; 2],
    /// Sequence space already sent each way: (direction, seq, length, SYN, FIN).
    sent: HashSet<(Dir, u32, usize, bool, bool)>,
    pub(super) rules: Vec<Rule>,
}

fn lane(dir: Dir) -> usize {
    match dir {
        Dir::C2S => 0,
        Dir::S2C => 1,
    }
}

impl Wire {
    pub(super) fn new(settings: WireSettings, rng: Rng) -> Self {
        Self {
            settings,
            rng,
            next_id: 1,
            flying: Vec::new(),
            held: VecDeque::new(),
            link_free_at: [0; 2],
            queue: [VecDeque::new(), VecDeque::new()],
            sent: HashSet::new(),
            rules: Vec::new(),
        }
    }

    /// The first rule that applies to a packet with a payload going `dir`, counted down.
    fn rule_for(&mut self, dir: Dir, payload: bool) -> Option<Spoil> {
        if !payload {
            return None;
        }
        let rule = self
            .rules
            .iter_mut()
            .find(|r| r.dir == dir && r.count > 0)?;
        if rule.skip > 0 {
            rule.skip -= 1;
            return None;
        }
        rule.count -= 1;
        Some(rule.spoil)
    }

    /// The time a packet of `len` bytes leaves the bottleneck going `dir`, or None if its
    /// queue is full.
    fn through_bottleneck(&mut self, now_us: u64, dir: Dir, len: usize) -> Option<u64> {
        let rate = self.settings.rate_bps;
        if rate == 0 {
            return Some(now_us);
        }
        let l = lane(dir);
        while self.queue[l].front().is_some_and(|&done| done <= now_us) {
            self.queue[l].pop_front();
        }
        if self.queue[l].len() >= self.settings.queue_pkts.max(1) {
            return None;
        }
        let start = self.link_free_at[l].max(now_us);
        let done = start + (len as u64 * 8 * 1_000_000).div_ceil(rate);
        self.link_free_at[l] = done;
        self.queue[l].push_back(done);
        Some(done)
    }

    /// A packet enters the wire at `now_us`; returns its record.
    pub(super) fn enter(
        &mut self,
        now_us: u64,
        dir: Dir,
        mut bytes: Vec<u8>,
        injected: bool,
    ) -> PacketRecord {
        let entered = bytes.clone();
        let id = self.next_id;
        self.next_id += 1;
        let tcp = parse_tcp(&bytes);
        let udp = parse_udp(&bytes);
        let payload = tcp.as_ref().is_some_and(|t| t.len > 0) || udp.is_some();
        let retransmission = tcp.as_ref().is_some_and(|t| {
            let syn = t.has("SYN");
            let fin = t.has("FIN");
            (t.len > 0 || syn || fin) && !self.sent.insert((dir, t.seq, t.len, syn, fin))
        });
        let fate = if self.settings.hold {
            self.held.push_back(Flying {
                at_us: 0,
                id,
                dir,
                bytes: bytes.clone(),
            });
            Fate::Held
        } else {
            match self.through_bottleneck(now_us, dir, bytes.len()) {
                None => Fate::QueueFull,
                Some(left) => {
                    let at_us = left + self.settings.delay_us;
                    let spoil = self.rule_for(dir, payload);
                    self.random_fate(at_us, id, dir, &mut bytes, spoil)
                }
            }
        };
        PacketRecord {
            id,
            t_us: now_us,
            dir,
            tcp,
            udp,
            bytes: bytes.len(),
            fate,
            retransmission,
            zero_window_probe: false,
            injected,
            delivered: matches!(fate, Fate::Corrupted { .. }).then(|| bytes.clone()),
            data: entered,
        }
    }

    /// Draws a fate (or takes the rule's) for a packet leaving the bottleneck, and puts it
    /// on its way unless it is lost.
    fn random_fate(
        &mut self,
        at_us: u64,
        id: u64,
        dir: Dir,
        bytes: &mut [u8],
        spoil: Option<Spoil>,
    ) -> Fate {
        let s = self.settings;
        // Every draw is made, whatever the rule, so a rule never shifts the random choices
        // of the packets after it.
        let lose = self.rng.chance(s.loss_pct);
        let corrupt = self.rng.chance(s.corrupt_pct);
        let duplicate = self.rng.chance(s.duplicate_pct);
        let reorder = self.rng.chance(s.reorder_pct);
        let fate = match spoil {
            Some(Spoil::Lose) => Fate::Lost,
            Some(Spoil::Corrupt) => self.corrupt(at_us, bytes),
            Some(Spoil::Duplicate) => self.duplicate(at_us),
            Some(Spoil::Reorder) => Fate::Reordered {
                at_us: at_us + self.reorder_extra(),
            },
            None if lose => Fate::Lost,
            None if corrupt => self.corrupt(at_us, bytes),
            None if duplicate => self.duplicate(at_us),
            None if reorder => Fate::Reordered {
                at_us: at_us + self.reorder_extra(),
            },
            None => Fate::Delivered { at_us },
        };
        self.launch(fate, id, dir, bytes);
        fate
    }

    fn reorder_extra(&self) -> u64 {
        (self.settings.delay_us / 2).max(5_000)
    }

    fn duplicate(&self, at_us: u64) -> Fate {
        Fate::Duplicated {
            at_us,
            copy_at_us: at_us + 500,
        }
    }

    /// Flips one byte past the IP header (the checksummed transport part).
    fn corrupt(&mut self, at_us: u64, bytes: &mut [u8]) -> Fate {
        let header = bytes.first().map_or(20, |b| usize::from(b & 0x0f) * 4);
        if bytes.len() > header {
            let span = (bytes.len() - header) as u64;
            let at = header + (self.rng.next_u64() % span) as usize;
            bytes[at] ^= 0x5a;
        }
        Fate::Corrupted { at_us }
    }

    /// Puts the copies a fate delivers on their way.
    fn launch(&mut self, fate: Fate, id: u64, dir: Dir, bytes: &[u8]) {
        if let Some(at_us) = fate.arrives_at() {
            self.flying.push(Flying {
                at_us,
                id,
                dir,
                bytes: bytes.to_vec(),
            });
        }
        if let Fate::Duplicated { copy_at_us, .. } = fate {
            self.flying.push(Flying {
                at_us: copy_at_us,
                id,
                dir,
                bytes: bytes.to_vec(),
            });
        }
    }

    pub(super) fn next_delivery(&self) -> Option<u64> {
        self.flying.iter().map(|f| f.at_us).min()
    }

    /// The earliest packet due by `now_us`, if any (ties in the order they entered).
    pub(super) fn take_due(&mut self, now_us: u64) -> Option<(Dir, Vec<u8>)> {
        let (i, _) = self
            .flying
            .iter()
            .enumerate()
            .filter(|(_, f)| f.at_us <= now_us)
            .min_by_key(|(_, f)| (f.at_us, f.id))?;
        let f = self.flying.remove(i);
        Some((f.dir, f.bytes))
    }

    /// Ids of the packets on their way (not held), with their arrival times.
    pub(super) fn in_flight(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.flying.iter().map(|f| (f.id, f.at_us))
    }

    /// Ids of the held packets, oldest first.
    pub(super) fn held_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.held.iter().map(|f| f.id)
    }

    /// The teacher's hand on packet `id` (held or flying) at `now_us`: its new fate, or None
    /// if it is no longer on the wire.
    pub(super) fn act(&mut self, now_us: u64, id: u64, action: Action) -> Option<Fate> {
        let packet = if let Some(i) = self.held.iter().position(|f| f.id == id) {
            let mut p = self.held.remove(i)?;
            p.at_us = now_us + self.settings.delay_us;
            p
        } else {
            // A duplicated packet's copies share the id: the hand takes both.
            let first = self.flying.iter().position(|f| f.id == id)?;
            let p = self.flying.remove(first);
            self.flying.retain(|f| f.id != id);
            p
        };
        let Flying {
            at_us,
            dir,
            mut bytes,
            ..
        } = packet;
        let fate = match action {
            Action::Deliver => Fate::Delivered { at_us },
            Action::Drop => Fate::Dropped,
            Action::Corrupt => self.corrupt(at_us, &mut bytes),
            Action::Delay(extra_us) => Fate::Delayed {
                at_us: at_us + extra_us,
            },
            Action::Duplicate => self.duplicate(at_us),
        };
        self.launch(fate, id, dir, &bytes);
        Some(fate)
    }

    /// The bytes a corrupted packet will arrive with (to keep in the record).
    pub(super) fn flying_bytes(&self, id: u64) -> Option<&[u8]> {
        self.flying
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.bytes.as_slice())
    }
}

/// What the teacher can do to a packet on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A held packet goes on its way (it arrives after the one-way delay).
    Deliver,
    Drop,
    Corrupt,
    /// Arrives this much later.
    Delay(u64),
    Duplicate,
}

fn addrs(ip: &Ipv4Packet<&[u8]>) -> (IpAddress, IpAddress) {
    (
        IpAddress::Ipv4(ip.src_addr()),
        IpAddress::Ipv4(ip.dst_addr()),
    )
}

/// Does the transport checksum of this IPv4 packet hold?
pub fn checksum_ok(bytes: &[u8]) -> bool {
    let Ok(ip) = Ipv4Packet::new_checked(bytes) else {
        return false;
    };
    let (src, dst) = addrs(&ip);
    match ip.next_header() {
        IpProtocol::Tcp => {
            TcpPacket::new_checked(ip.payload()).is_ok_and(|t| t.verify_checksum(&src, &dst))
        }
        IpProtocol::Udp => {
            UdpPacket::new_checked(ip.payload()).is_ok_and(|u| u.verify_checksum(&src, &dst))
        }
        _ => ip.verify_checksum(),
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
    let options = tcp.options_summary().unwrap_or_default();
    Some(Segment {
        src_port: tcp.src_port(),
        dst_port: tcp.dst_port(),
        seq: tcp.seq_number().0 as u32,
        ack: tcp.ack().then(|| tcp.ack_number().0 as u32),
        window: tcp.window_len(),
        flags,
        len: tcp.payload().len(),
        mss: options.max_segment_size,
        window_scale: options.window_scale,
        sack_permitted: options.sack_permitted,
        sack: options.sack_ranges.into_iter().flatten().collect(),
        timestamp: options.timestamp,
    })
}

/// The UDP header of an IPv4 packet, if that is what it carries.
pub fn parse_udp(bytes: &[u8]) -> Option<Datagram> {
    let ip = Ipv4Packet::new_checked(bytes).ok()?;
    if ip.next_header() != IpProtocol::Udp {
        return None;
    }
    let udp = UdpPacket::new_checked(ip.payload()).ok()?;
    Some(Datagram {
        src_port: udp.src_port(),
        dst_port: udp.dst_port(),
        len: udp.payload().len(),
    })
}
