//! The glass-box lab (issue 11): two hosts with a real TCP/IP stack (smoltcp), joined by a
//! simulated wire this program owns, in virtual time, so every segment can be seen and the
//! wire can lose, delay or (later) corrupt any of them. No privileges, the same on every
//! system; no egui here.
//!
//! First step: the hosts, the clock, a wire with one-way delay and seeded loss, and a record
//! of every packet (parsed) and every TCP state change. Scenarios, the wire's other settings,
//! the command line and the panel follow.

pub mod pcap;
pub mod scenario;
pub mod wire;

use std::collections::VecDeque;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant;
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr};

pub use wire::{Dir, Fate, PacketRecord, Rng, Segment, WireSettings};

/// The client host's address, 10.0.0.1.
pub const CLIENT_IP: [u8; 4] = [10, 0, 0, 1];
/// The server host's address, 10.0.0.2.
pub const SERVER_IP: [u8; 4] = [10, 0, 0, 2];
pub const SERVER_PORT: u16 = 80;
pub const CLIENT_PORT: u16 = 49152;

/// Which host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    Client,
    Server,
}

/// One thing that happened, at a virtual time in microseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Packet(PacketRecord),
    State {
        t_us: u64,
        host: Host,
        state: tcp::State,
    },
}

/// The virtual network card of a host: what it sends goes to `outbox` (the wire takes it),
/// what the wire delivers waits in `inbox`.
#[derive(Default)]
struct Card {
    inbox: VecDeque<Vec<u8>>,
    outbox: Vec<Vec<u8>>,
}

struct RxToken(Vec<u8>);
struct TxToken<'a>(&'a mut Vec<Vec<u8>>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.push(buf);
        r
    }
}

impl Device for Card {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let packet = self.inbox.pop_front()?;
        Some((RxToken(packet), TxToken(&mut self.outbox)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&mut self.outbox))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = 1500;
        caps
    }
}

struct Node {
    iface: Interface,
    card: Card,
    sockets: SocketSet<'static>,
    tcp: SocketHandle,
    last_state: tcp::State,
}

impl Node {
    fn new(ip: [u8; 4], seed: u64) -> Self {
        let mut card = Card::default();
        let mut config = Config::new(HardwareAddress::Ip);
        config.random_seed = seed;
        let mut iface = Interface::new(config, &mut card, Instant::from_micros(0));
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::v4(ip[0], ip[1], ip[2], ip[3]), 24));
        });
        let socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; 64 * 1024]),
            tcp::SocketBuffer::new(vec![0; 64 * 1024]),
        );
        let mut sockets = SocketSet::new(Vec::new());
        let tcp = sockets.add(socket);
        Self {
            iface,
            card,
            sockets,
            tcp,
            last_state: tcp::State::Closed,
        }
    }

    fn tcp(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.tcp)
    }
}

/// The two hosts, the wire between them, the clock and the record.
pub struct Lab {
    now_us: u64,
    client: Node,
    server: Node,
    wire: wire::Wire,
    pub record: Vec<Event>,
}

impl Lab {
    pub fn new(seed: u64, settings: WireSettings) -> Self {
        let mut rng = Rng::new(seed);
        let client = Node::new(CLIENT_IP, rng.next_u64());
        let server = Node::new(SERVER_IP, rng.next_u64());
        Self {
            now_us: 0,
            client,
            server,
            wire: wire::Wire::new(settings, rng),
            record: Vec::new(),
        }
    }

    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    fn node(&mut self, host: Host) -> &mut Node {
        match host {
            Host::Client => &mut self.client,
            Host::Server => &mut self.server,
        }
    }

    /// The server's application: listen on port 80.
    pub fn listen(&mut self) -> Result<(), tcp::ListenError> {
        self.server.tcp().listen(SERVER_PORT)
    }

    /// The client's application: connect to the server.
    pub fn connect(&mut self) -> Result<(), tcp::ConnectError> {
        let remote = (
            IpAddress::v4(SERVER_IP[0], SERVER_IP[1], SERVER_IP[2], SERVER_IP[3]),
            SERVER_PORT,
        );
        let client = &mut self.client;
        let cx = client.iface.context();
        client
            .sockets
            .get_mut::<tcp::Socket>(client.tcp)
            .connect(cx, remote, CLIENT_PORT)
    }

    /// A host's application sends bytes (as many as its send buffer takes).
    pub fn send(&mut self, host: Host, bytes: &[u8]) -> usize {
        self.node(host).tcp().send_slice(bytes).unwrap_or(0)
    }

    /// A host's application reads what has arrived.
    pub fn recv(&mut self, host: Host) -> Vec<u8> {
        let mut out = vec![0; 64 * 1024];
        let n = self.node(host).tcp().recv_slice(&mut out).unwrap_or(0);
        out.truncate(n);
        out
    }

    /// A host's application closes (FIN once its data is out).
    pub fn close(&mut self, host: Host) {
        self.node(host).tcp().close();
    }

    pub fn state(&mut self, host: Host) -> tcp::State {
        self.node(host).tcp().state()
    }

    /// Runs both stacks and the wire up to `until_us` of virtual time, jumping from one
    /// event to the next (a delivery, a host's timer).
    pub fn run_until(&mut self, until_us: u64) {
        loop {
            self.poll_hosts();
            let next = [
                self.wire.next_delivery(),
                self.next_timer(Host::Client),
                self.next_timer(Host::Server),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(t) if t <= until_us => {
                    self.now_us = t.max(self.now_us);
                    self.deliver();
                }
                _ => {
                    self.now_us = until_us.max(self.now_us);
                    self.deliver();
                    self.poll_hosts();
                    return;
                }
            }
        }
    }

    /// Runs until `done` holds (checked after every event) or `limit_us` passes; true if it
    /// held.
    pub fn run_while(&mut self, limit_us: u64, mut done: impl FnMut(&mut Self) -> bool) -> bool {
        while self.now_us < limit_us {
            // What the applications just asked for goes out now, not at the next event.
            self.poll_hosts();
            if done(self) {
                return true;
            }
            let step_to = self
                .next_event()
                .unwrap_or(limit_us)
                .clamp(self.now_us + 1, limit_us);
            self.run_until(step_to);
        }
        done(self)
    }

    fn next_event(&mut self) -> Option<u64> {
        [
            self.wire.next_delivery(),
            self.next_timer(Host::Client),
            self.next_timer(Host::Server),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn next_timer(&mut self, host: Host) -> Option<u64> {
        let now = Instant::from_micros(self.now_us as i64);
        let node = self.node(host);
        node.iface
            .poll_at(now, &node.sockets)
            .map(|t| t.total_micros().max(0) as u64)
            .filter(|t| *t > self.now_us)
    }

    fn poll_hosts(&mut self) {
        let now = Instant::from_micros(self.now_us as i64);
        // Until neither host has anything more to do at this instant.
        for _ in 0..64 {
            let mut sent = false;
            for host in [Host::Client, Host::Server] {
                let node = self.node(host);
                node.iface.poll(now, &mut node.card, &mut node.sockets);
                let state = node.tcp().state();
                if state != node.last_state {
                    node.last_state = state;
                    let t_us = self.now_us;
                    self.record.push(Event::State { t_us, host, state });
                }
                let node = self.node(host);
                let out = std::mem::take(&mut node.card.outbox);
                sent |= !out.is_empty();
                let dir = match host {
                    Host::Client => Dir::C2S,
                    Host::Server => Dir::S2C,
                };
                for packet in out {
                    let rec = self.wire.enter(self.now_us, dir, packet);
                    self.record.push(Event::Packet(rec));
                }
            }
            // Deliveries due now (a zero delay) are handed over at once.
            let delivered = self.deliver();
            if !sent && !delivered {
                return;
            }
        }
    }

    /// Hands the packets due by now to their hosts; true if any.
    fn deliver(&mut self) -> bool {
        let mut any = false;
        while let Some((dir, bytes)) = self.wire.take_due(self.now_us) {
            any = true;
            let to = match dir {
                Dir::C2S => &mut self.server,
                Dir::S2C => &mut self.client,
            };
            to.card.inbox.push_back(bytes);
        }
        any
    }

    /// The next packet sent `dir` with a payload is lost or corrupted, whatever the
    /// settings (the scenarios' "this one").
    pub fn set_next_fate(&mut self, dir: Dir, spoil: scenario::Spoil) {
        self.wire.spoil_next = Some((dir, spoil));
    }

    /// The packets of the record, in order.
    pub fn packets(&self) -> impl Iterator<Item = &PacketRecord> {
        self.record.iter().filter_map(|e| match e {
            Event::Packet(p) => Some(p),
            Event::State { .. } => None,
        })
    }
}
