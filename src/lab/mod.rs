//! The glass-box lab: two hosts with a real TCP/IP stack (smoltcp), joined by a
//! simulated wire this program owns, in virtual time, so every segment can be seen and the
//! wire can lose, corrupt, delay, duplicate, reorder or hold any of them. No privileges and
//! no system sockets, the same on every system; no egui here.
//!
//! The lab keeps a record of everything in order: each packet as it entered the wire and its
//! fate, each TCP state change, samples of each sender's bytes in flight, the peer's
//! advertised window and its congestion window, and the applications' calls.
//!
//! smoltcp does not show its congestion window, so the lab reads it off the wire the way a
//! capture tool does: at a moment when the sender stops with at least a segment of data
//! waiting and room in the peer's window, nothing but its congestion window holds it back,
//! and the bytes in flight are that window (to within a segment). At other moments the
//! sample has no cwnd.

pub mod clock;
pub mod pcap;
pub mod report;
pub mod scenario;
pub mod wire;

use std::collections::VecDeque;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::{tcp, udp};
use smoltcp::time::Instant;
use smoltcp::wire::{
    HardwareAddress, IpAddress, IpCidr, IpEndpoint, IpProtocol, Ipv4Address, Ipv4Packet, TcpPacket,
    TcpSeqNumber,
};

pub use wire::{
    Action, Datagram, Dir, Fate, PacketRecord, Rng, Rule, Segment, Spoil, WireSettings,
};

/// The client host's address, 10.0.0.1.
pub const CLIENT_IP: [u8; 4] = [10, 0, 0, 1];
/// The server host's address, 10.0.0.2.
pub const SERVER_IP: [u8; 4] = [10, 0, 0, 2];
pub const SERVER_PORT: u16 = 80;
pub const CLIENT_PORT: u16 = 49152;
/// The UDP ports: the server's and the client's.
pub const SERVER_UDP_PORT: u16 = 5000;
pub const CLIENT_UDP_PORT: u16 = 5001;
/// What a host's application keeps of what it read, for the panel and the checks.
const KEEP_RECEIVED: usize = 1 << 20;
/// Packet bytes the record keeps in full; past this, only the first `HEADER_BYTES` of each
/// (the pcapng then says how long each really was).
const RECORD_DATA_BUDGET: usize = 32 << 20;
const HEADER_BYTES: usize = 120;

/// Which host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host {
    Client,
    Server,
}

impl Host {
    pub fn name(self) -> &'static str {
        match self {
            Host::Client => "client",
            Host::Server => "server",
        }
    }

    /// The direction this host sends in.
    pub fn sends(self) -> Dir {
        match self {
            Host::Client => Dir::C2S,
            Host::Server => Dir::S2C,
        }
    }
}

/// A congestion control algorithm for both hosts' TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Congestion {
    Reno,
    Cubic,
}

impl Congestion {
    pub fn name(self) -> &'static str {
        match self {
            Congestion::Reno => "reno",
            Congestion::Cubic => "cubic",
        }
    }
}

/// What a host's application does with what it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppMode {
    /// Reads and keeps it.
    Sink,
    /// Reads and sends it back.
    Echo,
}

/// A sample of a sender's view, taken when it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub t_us: u64,
    pub host: Host,
    /// Read off the wire when only the congestion window held the sender back.
    pub cwnd: Option<u32>,
    /// Sent and not yet acknowledged, in bytes.
    pub in_flight: u32,
    /// The peer's last advertised window, scaled, in bytes.
    pub rwnd: u32,
    /// While data is unacknowledged: when the sender's timer fires (its retransmission
    /// timeout, or its next zero-window probe), in µs of virtual time.
    pub timer_at_us: Option<u64>,
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
    Sample(Sample),
    /// An application's call, written as code (`send(1000)`) with its result (`1000`).
    Call {
        t_us: u64,
        host: Host,
        call: String,
        result: String,
    },
}

impl Event {
    pub fn t_us(&self) -> u64 {
        match self {
            Event::Packet(p) => p.t_us,
            Event::State { t_us, .. } | Event::Call { t_us, .. } => *t_us,
            Event::Sample(s) => s.t_us,
        }
    }
}

/// What the applications can be told to do (the panel's buttons, the scenarios' scripts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The server listens on port 80.
    Listen,
    /// The client connects to 10.0.0.2:80.
    Connect,
    /// Sends these bytes whole (like `sendall`: what the buffer does not take now goes
    /// later).
    Send(Host, Vec<u8>),
    /// Sends this many bytes of a pattern.
    SendBulk(Host, u64),
    /// The application reads (or stops reading: the window fills).
    SetReading(Host, bool),
    SetMode(Host, AppMode),
    /// `shutdown(SHUT_WR)`: a FIN once the data is out; it can still read.
    Shutdown(Host),
    /// `close()`: a FIN, and it reads no more.
    Close(Host),
    /// An abortive close: RST.
    Abort(Host),
    /// Sends a UDP datagram to the other host's UDP port.
    SendTo(Host, Vec<u8>),
}

/// Why an application's call failed (the panel says it in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// listen() or connect() on a socket that is not closed (in this state).
    Busy(tcp::State),
    /// sendall() on a connection not open for sending (in this state).
    NotOpen(tcp::State),
    /// sendto(): the datagram does not fit (too big, or the send buffer is full).
    Datagram,
}

/// How a lab is set up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabConfig {
    pub seed: u64,
    pub wire: WireSettings,
    pub congestion: Congestion,
    /// Each host's TCP receive and send buffers.
    pub rx_buffer: usize,
    pub tx_buffer: usize,
}

impl Default for LabConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            wire: WireSettings::default(),
            congestion: Congestion::Reno,
            rx_buffer: 64 * 1024,
            tx_buffer: 64 * 1024,
        }
    }
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

/// A host's application: what it has to send, whether it reads, what it read.
#[derive(Debug, Clone)]
pub struct App {
    pub mode: AppMode,
    pub reading: bool,
    /// It called close(): it reads no more.
    pub closed: bool,
    /// Bytes waiting to be handed to the socket.
    outgoing: VecDeque<u8>,
    /// Pattern bytes still to send, and how many were sent so far.
    bulk_left: u64,
    bulk_sent: u64,
    /// Bytes read from TCP, all told, and the first `KEEP_RECEIVED` of them.
    pub received: u64,
    pub received_data: Vec<u8>,
    /// UDP datagrams sent and read, and the ones read, in the order read.
    pub udp_sent: u64,
    pub udp_received: Vec<Vec<u8>>,
}

impl App {
    fn new() -> Self {
        Self {
            mode: AppMode::Sink,
            reading: true,
            closed: false,
            outgoing: VecDeque::new(),
            bulk_left: 0,
            bulk_sent: 0,
            received: 0,
            received_data: Vec::new(),
            udp_sent: 0,
            udp_received: Vec::new(),
        }
    }

    /// Bytes it still has to hand to its socket.
    pub fn unsent(&self) -> u64 {
        self.outgoing.len() as u64 + self.bulk_left
    }
}

/// What a host has seen of its own connection on the wire (for the samples).
#[derive(Debug, Clone, Copy, Default)]
struct View {
    /// The highest sequence number it has sent (seq + its sequence length).
    snd_max: Option<u32>,
    /// The highest acknowledgement delivered to it.
    snd_una: Option<u32>,
    /// The peer's last window, scaled.
    peer_wnd: u32,
    mss: u32,
    last: Option<(Option<u32>, u32, u32, Option<u64>)>,
}

struct Node {
    iface: Interface,
    card: Card,
    sockets: SocketSet<'static>,
    tcp: SocketHandle,
    udp: SocketHandle,
    last_state: tcp::State,
    app: App,
    view: View,
}

impl Node {
    fn new(ip: [u8; 4], seed: u64, config: &LabConfig, udp_port: u16) -> Self {
        let mut card = Card::default();
        let mut iface_config = Config::new(HardwareAddress::Ip);
        iface_config.random_seed = seed;
        let mut iface = Interface::new(iface_config, &mut card, Instant::from_micros(0));
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::new(IpAddress::v4(ip[0], ip[1], ip[2], ip[3]), 24));
        });
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; config.rx_buffer]),
            tcp::SocketBuffer::new(vec![0; config.tx_buffer]),
        );
        socket.set_congestion_control(match config.congestion {
            Congestion::Reno => tcp::CongestionControl::Reno,
            Congestion::Cubic => tcp::CongestionControl::Cubic,
        });
        let mut udp_socket = udp::Socket::new(
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 256], vec![0; 256 * 1024]),
            udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 256], vec![0; 256 * 1024]),
        );
        let _ = udp_socket.bind(udp_port);
        let mut sockets = SocketSet::new(Vec::new());
        let tcp = sockets.add(socket);
        let udp = sockets.add(udp_socket);
        Self {
            iface,
            card,
            sockets,
            tcp,
            udp,
            last_state: tcp::State::Closed,
            app: App::new(),
            view: View {
                mss: 536,
                ..View::default()
            },
        }
    }

    fn tcp(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(self.tcp)
    }

    fn udp(&mut self) -> &mut udp::Socket<'static> {
        self.sockets.get_mut::<udp::Socket>(self.udp)
    }

    /// The application's turn: read what it may, echo, hand waiting bytes to the socket.
    /// Returns its calls (call, result) and whether it did anything.
    fn run_app(&mut self) -> (Vec<(String, String)>, bool) {
        let mut calls = Vec::new();
        let mut acted = false;
        let mut buf = [0u8; 16 * 1024];
        if self.app.reading && !self.app.closed {
            loop {
                let n = match self.tcp().recv_slice(&mut buf) {
                    Ok(n) if n > 0 => n,
                    _ => break,
                };
                acted = true;
                calls.push(("recv()".to_owned(), n.to_string()));
                self.app.received += n as u64;
                let keep = KEEP_RECEIVED.saturating_sub(self.app.received_data.len());
                self.app
                    .received_data
                    .extend_from_slice(&buf[..n.min(keep)]);
                if self.app.mode == AppMode::Echo {
                    self.app.outgoing.extend(&buf[..n]);
                }
            }
        }
        while let Ok((n, meta)) = self.udp().recv_slice(&mut buf) {
            acted = true;
            calls.push((
                "recvfrom()".to_owned(),
                format!("{n} from {}", meta.endpoint),
            ));
            if self.app.udp_received.len() < 10_000 {
                self.app.udp_received.push(buf[..n].to_vec());
            }
        }
        // What waits goes into the send buffer as it makes room (one call per turn).
        if !self.app.outgoing.is_empty() && self.tcp().may_send() {
            let socket = self.sockets.get_mut::<tcp::Socket>(self.tcp);
            let (front, _) = self.app.outgoing.as_slices();
            let len = front.len();
            let n = socket.send_slice(front).unwrap_or(0);
            if n > 0 {
                acted = true;
                self.app.outgoing.drain(..n);
                calls.push((format!("send({len})"), n.to_string()));
            }
        }
        while self.app.bulk_left > 0 && self.tcp().may_send() {
            let chunk = self.app.bulk_left.min(buf.len() as u64) as usize;
            for (i, b) in buf[..chunk].iter_mut().enumerate() {
                *b = b'a' + ((self.app.bulk_sent + i as u64) % 26) as u8;
            }
            let n = self.tcp().send_slice(&buf[..chunk]).unwrap_or(0);
            if n == 0 {
                break;
            }
            acted = true;
            self.app.bulk_left -= n as u64;
            self.app.bulk_sent += n as u64;
        }
        (calls, acted)
    }
}

fn peer_ip(host: Host) -> Ipv4Address {
    let ip = match host {
        Host::Client => SERVER_IP,
        Host::Server => CLIENT_IP,
    };
    Ipv4Address::new(ip[0], ip[1], ip[2], ip[3])
}

/// The two hosts, the wire between them, the clock and the record.
pub struct Lab {
    now_us: u64,
    client: Node,
    server: Node,
    wire: wire::Wire,
    pub config: LabConfig,
    pub record: Vec<Event>,
    /// Where packet `id` sits in the record: `packet_at[id - 1]`.
    packet_at: Vec<usize>,
    data_kept: usize,
    /// Window scale each way from the SYNs: (client's, server's); used when both sent one.
    wscale: [Option<u8>; 2],
    /// The last command's failure, if it failed.
    pub last_error: Option<(Host, CallError)>,
}

impl Lab {
    pub fn new(seed: u64, settings: WireSettings) -> Self {
        Self::with(LabConfig {
            seed,
            wire: settings,
            ..LabConfig::default()
        })
    }

    pub fn with(config: LabConfig) -> Self {
        let mut rng = Rng::new(config.seed);
        let client = Node::new(CLIENT_IP, rng.next_u64(), &config, CLIENT_UDP_PORT);
        let server = Node::new(SERVER_IP, rng.next_u64(), &config, SERVER_UDP_PORT);
        Self {
            now_us: 0,
            client,
            server,
            wire: wire::Wire::new(config.wire, rng),
            config,
            record: Vec::new(),
            packet_at: Vec::new(),
            data_kept: 0,
            wscale: [None; 2],
            last_error: None,
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

    fn node_ref(&self, host: Host) -> &Node {
        match host {
            Host::Client => &self.client,
            Host::Server => &self.server,
        }
    }

    pub fn app(&self, host: Host) -> &App {
        &self.node_ref(host).app
    }

    fn call(&mut self, host: Host, call: impl Into<String>, result: impl Into<String>) {
        self.record.push(Event::Call {
            t_us: self.now_us,
            host,
            call: call.into(),
            result: result.into(),
        });
    }

    /// Carries out an application's command; its call and result go into the record, and a
    /// call that fails is kept in `last_error` for the panel to say so.
    pub fn apply(&mut self, command: Command) {
        self.last_error = None;
        match command {
            Command::Listen => {
                let before = self.state_ref(Host::Server);
                let r = self.listen();
                if r.is_err() {
                    self.last_error = Some((Host::Server, CallError::Busy(before)));
                }
                self.call(Host::Server, "listen(80)", result(r));
            }
            Command::Connect => {
                let before = self.state_ref(Host::Client);
                let r = self.connect();
                if r.is_err() {
                    self.last_error = Some((Host::Client, CallError::Busy(before)));
                }
                self.call(Host::Client, "connect(10.0.0.2:80)", result(r));
            }
            Command::Send(host, _) | Command::SendBulk(host, _) => {
                let n = match &command {
                    Command::Send(_, bytes) => bytes.len() as u64,
                    Command::SendBulk(_, n) => *n,
                    _ => 0,
                };
                let node = self.node(host);
                if node.tcp().may_send() {
                    match command {
                        Command::Send(_, bytes) => node.app.outgoing.extend(bytes),
                        _ => node.app.bulk_left += n,
                    }
                    self.call(host, format!("sendall({n})"), "0");
                } else {
                    let state = node.tcp().state();
                    self.last_error = Some((host, CallError::NotOpen(state)));
                    self.call(host, format!("sendall({n})"), format!("error: {state}"));
                }
            }
            Command::SetReading(host, on) => {
                self.node(host).app.reading = on;
                let call = if on { "resume reading" } else { "stop reading" };
                self.call(host, call, "0");
            }
            Command::SetMode(host, mode) => {
                self.node(host).app.mode = mode;
            }
            Command::Shutdown(host) => {
                self.node(host).tcp().close();
                self.call(host, "shutdown(SHUT_WR)", "0");
            }
            Command::Close(host) => {
                let node = self.node(host);
                node.tcp().close();
                node.app.closed = true;
                self.call(host, "close()", "0");
            }
            Command::Abort(host) => {
                self.node(host).tcp().abort();
                self.call(host, "close() with SO_LINGER 0", "0");
            }
            Command::SendTo(host, bytes) => {
                let port = match host {
                    Host::Client => SERVER_UDP_PORT,
                    Host::Server => CLIENT_UDP_PORT,
                };
                let to = IpEndpoint::new(IpAddress::Ipv4(peer_ip(host)), port);
                let node = self.node(host);
                let r = node.udp().send_slice(&bytes, to);
                if r.is_ok() {
                    node.app.udp_sent += 1;
                } else {
                    self.last_error = Some((host, CallError::Datagram));
                }
                let r = match r {
                    Ok(()) => bytes.len().to_string(),
                    Err(e) => format!("error: {e}"),
                };
                self.call(host, format!("sendto({}, {to})", bytes.len()), r);
            }
        }
        self.poll_hosts();
    }

    /// The server's application: listen on port 80.
    pub fn listen(&mut self) -> Result<(), tcp::ListenError> {
        self.server.tcp().listen(SERVER_PORT)
    }

    /// The client's application: connect to the server.
    pub fn connect(&mut self) -> Result<(), tcp::ConnectError> {
        let remote = (IpAddress::Ipv4(peer_ip(Host::Client)), SERVER_PORT);
        let client = &mut self.client;
        let cx = client.iface.context();
        client
            .sockets
            .get_mut::<tcp::Socket>(client.tcp)
            .connect(cx, remote, CLIENT_PORT)
    }

    /// A host's socket takes bytes (as many as its send buffer takes) right now.
    pub fn send(&mut self, host: Host, bytes: &[u8]) -> usize {
        self.node(host).tcp().send_slice(bytes).unwrap_or(0)
    }

    /// A host's application closes (FIN once its data is out).
    pub fn close(&mut self, host: Host) {
        self.node(host).tcp().close();
    }

    pub fn state(&mut self, host: Host) -> tcp::State {
        self.node(host).tcp().state()
    }

    /// A host's TCP state, without running anything.
    pub fn state_ref(&self, host: Host) -> tcp::State {
        let node = self.node_ref(host);
        node.sockets.get::<tcp::Socket>(node.tcp).state()
    }

    /// Bytes in the host's TCP receive buffer that its application has not read.
    pub fn unread(&mut self, host: Host) -> usize {
        self.node(host).tcp().recv_queue()
    }

    /// Puts a packet of the lab's own making on the wire (as if from `dir`'s sender).
    pub fn inject(&mut self, dir: Dir, packet: Vec<u8>) {
        let rec = self.wire.enter(self.now_us, dir, packet, true);
        self.push_packet(rec);
        self.poll_hosts();
    }

    /// A SYN from the client's address and port with this sequence number, as an earlier
    /// attempt would have sent it.
    pub fn old_syn(seq: u32) -> Vec<u8> {
        let mut bytes = vec![0u8; 20 + 24];
        let src = Ipv4Address::new(CLIENT_IP[0], CLIENT_IP[1], CLIENT_IP[2], CLIENT_IP[3]);
        let dst = peer_ip(Host::Client);
        {
            let mut tcp = TcpPacket::new_unchecked(&mut bytes[20..]);
            tcp.set_src_port(CLIENT_PORT);
            tcp.set_dst_port(SERVER_PORT);
            tcp.set_seq_number(TcpSeqNumber(seq as i32));
            tcp.set_ack_number(TcpSeqNumber(0));
            tcp.set_header_len(24);
            tcp.clear_flags();
            tcp.set_syn(true);
            tcp.set_window_len(64_240);
            tcp.set_urgent_at(0);
            // MSS 1460.
            tcp.options_mut().copy_from_slice(&[2, 4, 0x05, 0xb4]);
            tcp.fill_checksum(&IpAddress::Ipv4(src), &IpAddress::Ipv4(dst));
        }
        let mut ip = Ipv4Packet::new_unchecked(&mut bytes[..]);
        ip.set_version(4);
        ip.set_header_len(20);
        ip.set_dscp(0);
        ip.set_ecn(0);
        ip.set_total_len(44);
        ip.set_ident(0x0bad);
        ip.clear_flags();
        ip.set_dont_frag(true);
        ip.set_frag_offset(0);
        ip.set_hop_limit(64);
        ip.set_next_header(IpProtocol::Tcp);
        ip.set_src_addr(src);
        ip.set_dst_addr(dst);
        ip.fill_checksum();
        bytes
    }

    /// Adds scenario rules to the wire ("lose the third data segment").
    pub fn add_rule(&mut self, rule: Rule) {
        self.wire.rules.push(rule);
    }

    /// The next packet sent `dir` with a payload is spoiled, whatever the settings.
    pub fn set_next_fate(&mut self, dir: Dir, spoil: Spoil) {
        self.add_rule(Rule {
            dir,
            skip: 0,
            count: 1,
            spoil,
        });
    }

    /// The wire's settings from now on.
    pub fn set_wire(&mut self, settings: WireSettings) {
        self.wire.settings = settings;
        self.config.wire = settings;
    }

    /// The teacher's hand on packet `id`: true if it was still on the wire.
    pub fn act(&mut self, id: u64, action: Action) -> bool {
        let Some(fate) = self.wire.act(self.now_us, id, action) else {
            return false;
        };
        let corrupted = self.wire.flying_bytes(id).map(<[u8]>::to_vec);
        if let Some(Event::Packet(p)) = self
            .packet_at
            .get((id as usize).wrapping_sub(1))
            .and_then(|&i| self.record.get_mut(i))
        {
            p.fate = fate;
            if matches!(fate, Fate::Corrupted { .. }) {
                p.delivered = corrupted;
            }
        }
        true
    }

    /// Delivers the oldest held packet; false if none is held.
    pub fn deliver_next_held(&mut self) -> bool {
        let next = self.wire.held_ids().next();
        match next {
            Some(id) => self.act(id, Action::Deliver),
            None => false,
        }
    }

    /// Packets on the wire now: (id, arrival time; None while held).
    pub fn on_the_wire(&self) -> Vec<(u64, Option<u64>)> {
        let mut v: Vec<_> = self.wire.in_flight().map(|(i, t)| (i, Some(t))).collect();
        v.extend(self.wire.held_ids().map(|i| (i, None)));
        v.sort_unstable();
        v.dedup_by_key(|e| e.0);
        v
    }

    /// Packet `id` of the record.
    pub fn packet(&self, id: u64) -> Option<&PacketRecord> {
        match self
            .packet_at
            .get((id as usize).wrapping_sub(1))
            .and_then(|&i| self.record.get(i))
        {
            Some(Event::Packet(p)) => Some(p),
            _ => None,
        }
    }

    /// Runs both stacks and the wire up to `until_us` of virtual time, jumping from one
    /// event to the next (a delivery, a host's timer).
    pub fn run_until(&mut self, until_us: u64) {
        loop {
            self.poll_hosts();
            match self.next_event() {
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

    /// Runs to the next event (a delivery or a timer), at most to `limit_us`; returns the
    /// time reached.
    pub fn step(&mut self, limit_us: u64) -> u64 {
        self.poll_hosts();
        let to = self
            .next_event()
            .unwrap_or(limit_us)
            .clamp(self.now_us, limit_us.max(self.now_us));
        self.run_until(to);
        self.now_us
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

    /// When the next thing happens: a delivery or a host's timer.
    pub fn next_event(&mut self) -> Option<u64> {
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

    fn push_packet(&mut self, mut rec: PacketRecord) {
        if !rec.injected && rec.tcp.as_ref().is_some_and(|t| t.len == 1) {
            let sender = match rec.dir {
                Dir::C2S => Host::Client,
                Dir::S2C => Host::Server,
            };
            let view = self.node(sender).view;
            if view.snd_una.is_some() && view.peer_wnd == 0 {
                rec.zero_window_probe = true;
                rec.retransmission = false;
            }
        }
        self.track_sent(&rec);
        let len = rec.data.len() + rec.delivered.as_ref().map_or(0, Vec::len);
        if self.data_kept + len > RECORD_DATA_BUDGET {
            rec.data.truncate(HEADER_BYTES);
            if let Some(d) = &mut rec.delivered {
                d.truncate(HEADER_BYTES);
            }
        } else {
            self.data_kept += len;
        }
        self.packet_at.push(self.record.len());
        self.record.push(Event::Packet(rec));
    }

    /// A host's own view of what it sent.
    fn track_sent(&mut self, rec: &PacketRecord) {
        let Some(t) = &rec.tcp else { return };
        if rec.injected {
            return;
        }
        let host = match rec.dir {
            Dir::C2S => Host::Client,
            Dir::S2C => Host::Server,
        };
        if t.has("SYN") {
            self.wscale[match rec.dir {
                Dir::C2S => 0,
                Dir::S2C => 1,
            }] = t.window_scale;
        }
        let end = t.seq.wrapping_add(t.seq_len());
        let view = &mut self.node(host).view;
        if view.snd_max.is_none_or(|m| seq_after(end, m)) {
            view.snd_max = Some(end);
        }
    }

    /// A host's view of what the wire delivered to it: the acknowledgement and window.
    fn track_delivered(&mut self, to: Host, bytes: &[u8]) {
        let Some(t) = wire::parse_tcp(bytes) else {
            return;
        };
        if !wire::checksum_ok(bytes) {
            return;
        }
        // The sender of this segment is the other host; its window is scaled by its own
        // shift, when both SYNs carried one.
        let from = match to {
            Host::Client => 1,
            Host::Server => 0,
        };
        let shift = match (self.wscale[0], self.wscale[1]) {
            (Some(_), Some(_)) if !t.has("SYN") => self.wscale[from].unwrap_or(0),
            _ => 0,
        };
        let view = &mut self.node(to).view;
        if let Some(mss) = t.mss {
            view.mss = u32::from(mss).min(1460);
        }
        if let Some(ack) = t.ack
            && view.snd_una.is_none_or(|u| !seq_after(u, ack))
        {
            view.snd_una = Some(ack);
            view.peer_wnd = u32::from(t.window) << shift.min(14);
        }
    }

    /// A sample of each sender's view, where it changed.
    fn sample(&mut self) {
        for host in [Host::Client, Host::Server] {
            let now = self.now_us;
            let node = self.node(host);
            let view = node.view;
            let (Some(max), Some(una)) = (view.snd_max, view.snd_una) else {
                continue;
            };
            let in_flight = if seq_after(max, una) {
                max.wrapping_sub(una)
            } else {
                0
            };
            let socket = node.tcp();
            let open = matches!(
                socket.state(),
                tcp::State::Established | tcp::State::CloseWait
            );
            let waiting = (socket.send_queue() as u64).saturating_sub(u64::from(in_flight))
                + node.app.unsent();
            let cwnd = (open
                && waiting >= u64::from(view.mss)
                && view.peer_wnd >= in_flight + view.mss
                && in_flight > 0)
                .then_some(in_flight);
            // With data in flight the sender's next timer is its retransmission (or probe)
            // timer; smoltcp gives the earliest of a host's timers.
            let timer_at_us = (in_flight > 0)
                .then(|| {
                    node.iface
                        .poll_at(Instant::from_micros(now as i64), &node.sockets)
                        .map(|t| t.total_micros().max(0) as u64)
                })
                .flatten()
                .filter(|t| *t > now);
            let key = (cwnd, in_flight, view.peer_wnd, timer_at_us);
            if node.view.last == Some(key) {
                continue;
            }
            node.view.last = Some(key);
            self.record.push(Event::Sample(Sample {
                t_us: now,
                host,
                cwnd,
                in_flight,
                rwnd: view.peer_wnd,
                timer_at_us,
            }));
        }
    }

    fn poll_hosts(&mut self) {
        let now = Instant::from_micros(self.now_us as i64);
        // Until neither host nor application has anything more to do at this instant.
        for _ in 0..256 {
            let mut busy = false;
            for host in [Host::Client, Host::Server] {
                let node = self.node(host);
                node.iface.poll(now, &mut node.card, &mut node.sockets);
                let (calls, acted) = node.run_app();
                busy |= acted;
                for (call, result) in calls {
                    self.call(host, call, result);
                }
                let node = self.node(host);
                if acted {
                    node.iface.poll(now, &mut node.card, &mut node.sockets);
                }
                let state = node.tcp().state();
                if state != node.last_state {
                    node.last_state = state;
                    let t_us = self.now_us;
                    self.record.push(Event::State { t_us, host, state });
                }
                let out = std::mem::take(&mut self.node(host).card.outbox);
                busy |= !out.is_empty();
                for packet in out {
                    let rec = self.wire.enter(self.now_us, host.sends(), packet, false);
                    self.push_packet(rec);
                }
            }
            // Deliveries due now (a zero delay) are handed over at once.
            let delivered = self.deliver();
            self.sample();
            if !busy && !delivered {
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
                Dir::C2S => Host::Server,
                Dir::S2C => Host::Client,
            };
            self.track_delivered(to, &bytes);
            self.node(to).card.inbox.push_back(bytes);
        }
        any
    }

    /// The packets from the `index`th on (0-based, in the order they entered the wire),
    /// without walking the record before them.
    pub fn packets_from(&self, index: usize) -> impl Iterator<Item = &PacketRecord> {
        let start = self
            .packet_at
            .get(index)
            .copied()
            .unwrap_or(self.record.len());
        self.record[start..].iter().filter_map(|e| match e {
            Event::Packet(p) => Some(p),
            _ => None,
        })
    }

    /// How many packets have entered the wire.
    pub fn packet_count(&self) -> usize {
        self.packet_at.len()
    }

    /// The packets of the record, in order.
    pub fn packets(&self) -> impl Iterator<Item = &PacketRecord> {
        self.record.iter().filter_map(|e| match e {
            Event::Packet(p) => Some(p),
            _ => None,
        })
    }

    /// The samples of the record, in order.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.record.iter().filter_map(|e| match e {
            Event::Sample(s) => Some(s),
            _ => None,
        })
    }
}

/// `a` is after `b` in sequence space.
pub fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

fn result<E: std::fmt::Display>(r: Result<(), E>) -> String {
    match r {
        Ok(()) => "0".to_owned(),
        Err(e) => format!("error: {e}"),
    }
}
