//! The lesson's sequence diagram of one TCP connection — three-way handshake, data with
//! acknowledgements, four-way close or reset — built from the socket-call trace of the client,
//! the server, or both.
//!
//! No packets are captured, so every segment is *inferred* from what the calls returned (and
//! from the kernel's TCP states where the trace has them); each is marked `inferred` and the
//! legend says so. A lane that was not observed is the "peer": its segments come from what the
//! other lane knows (`accept()` returning means the client's SYN and ACK arrived, `recv()` of
//! 5 bytes means the peer sent them, `recv()` → 0 means its FIN).
//!
//! Pure: nothing here draws. The panel draws a [`Diagram`] with `ui::diagram_view`; [`to_svg`]
//! writes the same figure as a standalone SVG file.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::SystemTime;

use crate::i18n::{Lang, Msg};
use crate::net::trace::TcpState;
use crate::net::{CallKind, CallOutcome, NetErrorKind, ShutdownHow, SocketCall};

/// One side of the connection: a vertical line in the diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lane {
    Client,
    Server,
}

impl Lane {
    pub const ALL: [Lane; 2] = [Lane::Client, Lane::Server];

    /// Index into `[_; 2]` arrays such as [`Diagram::lanes`] and `build`'s `known`.
    pub fn index(self) -> usize {
        match self {
            Lane::Client => 0,
            Lane::Server => 1,
        }
    }

    pub fn other(self) -> Lane {
        match self {
            Lane::Client => Lane::Server,
            Lane::Server => Lane::Client,
        }
    }

    /// "Client" or "Server" in the user's language.
    pub fn role(self, lang: Lang) -> &'static str {
        lang.t(match self {
            Lane::Client => Msg::DiagramClient,
            Lane::Server => Msg::DiagramServer,
        })
    }
}

/// One call of the merged, time-ordered trace of a connection, with the lane that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneCall {
    pub lane: Lane,
    pub call: SocketCall,
}

/// The head of a lane: who it is and whether its calls were observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneHead {
    pub lane: Lane,
    /// False for the "peer": a program we did not trace, drawn from what the other lane knows.
    pub observed: bool,
    /// The lane's address, where some call revealed it.
    pub addr: Option<SocketAddr>,
}

impl LaneHead {
    /// "Client", or "Server (peer)" for a lane that was not observed.
    pub fn title(&self, lang: Lang) -> String {
        let role = self.lane.role(lang);
        if self.observed {
            role.to_owned()
        } else {
            lang.fmt(Msg::DiagramPeerLane, &[("role", &role)])
        }
    }

    /// The title followed by the address, if known.
    pub fn label(&self, lang: Lang) -> String {
        match self.addr {
            Some(addr) => format!("{} {addr}", self.title(lang)),
            None => self.title(lang),
        }
    }
}

/// What a segment carries, by the flags the lesson's figures name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentKind {
    Syn,
    SynAck,
    Ack,
    Data { bytes: usize },
    Fin,
    Rst,
}

impl SegmentKind {
    /// The arrow's label. Flag names are protocol vocabulary and the same in every language.
    pub fn label(self, lang: Lang) -> String {
        match self {
            Self::Syn => "SYN".to_owned(),
            Self::SynAck => "SYN+ACK".to_owned(),
            Self::Ack => "ACK".to_owned(),
            Self::Data { bytes } => lang.fmt(Msg::DiagramData, &[("n", &bytes)]),
            Self::Fin => "FIN".to_owned(),
            Self::Rst => "RST".to_owned(),
        }
    }
}

/// One row of the diagram, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    /// A segment from `from` to the other lane.
    Segment {
        from: Lane,
        kind: SegmentKind,
        /// Deduced from calls and kernel states rather than seen on the wire (always, for now:
        /// no packets are captured).
        inferred: bool,
        at: SystemTime,
        /// Why, in code terms that read the same in every language (`SO_LINGER 0`,
        /// `ECONNREFUSED`).
        note: Option<String>,
    },
    /// The kernel reported this TCP state for the lane's socket.
    State {
        lane: Lane,
        state: TcpState,
        at: SystemTime,
    },
    /// A call the lane's program made, as code (`close()`, `recv(1024) → 0`).
    Call {
        lane: Lane,
        text: String,
        /// The call returned an error (drawn in the error colour).
        failed: bool,
        at: SystemTime,
    },
}

impl Row {
    pub fn at(&self) -> SystemTime {
        match self {
            Row::Segment { at, .. } | Row::State { at, .. } | Row::Call { at, .. } => *at,
        }
    }

    /// Height of the row in the drawing, in points (SVG user units, egui points).
    pub fn height(&self) -> f32 {
        match self {
            Row::Segment { .. } => SEGMENT_HEIGHT,
            Row::State { .. } => STATE_HEIGHT,
            Row::Call { .. } => CALL_HEIGHT,
        }
    }
}

/// Layout shared by the panel and the SVG, in points.
pub const HEADER_HEIGHT: f32 = 46.0;
pub const SEGMENT_HEIGHT: f32 = 42.0;
/// How far an arrow drops from its start to its end: time passes on the wire.
pub const SEGMENT_SLANT: f32 = 14.0;
pub const STATE_HEIGHT: f32 = 26.0;
pub const CALL_HEIGHT: f32 = 20.0;
/// Where the two lanes stand, as fractions of the width.
pub const LANE_X: [f32; 2] = [0.36, 0.64];

/// The sequence diagram of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagram {
    /// Client, then server.
    pub lanes: [LaneHead; 2],
    pub rows: Vec<Row>,
}

impl Diagram {
    pub fn lane(&self, lane: Lane) -> &LaneHead {
        &self.lanes[lane.index()]
    }

    pub fn segments(&self) -> impl Iterator<Item = (Lane, SegmentKind)> + '_ {
        self.rows.iter().filter_map(|row| match row {
            Row::Segment { from, kind, .. } => Some((*from, *kind)),
            _ => None,
        })
    }

    /// Total height of the rows, in points.
    pub fn rows_height(&self) -> f32 {
        self.rows.iter().map(Row::height).sum()
    }
}

/// Builds the diagram from a connection's merged, time-ordered trace. `known[lane.index()]`
/// says whether that lane was observed; a lane that was not is the peer, drawn from what the
/// other lane knows, and any calls given for it are ignored.
pub fn build(calls: &[LaneCall], known: [bool; 2]) -> Diagram {
    let mut b = Builder {
        known,
        ..Builder::default()
    };
    // `known` is authoritative: calls of a lane that is drawn as the peer are left out.
    for LaneCall { lane, call } in calls.iter().filter(|c| known[c.lane.index()]) {
        b.apply(*lane, call);
    }
    Diagram {
        lanes: Lane::ALL.map(|lane| LaneHead {
            lane,
            observed: known[lane.index()],
            addr: b.addrs[lane.index()],
        }),
        rows: b.rows,
    }
}

#[derive(Debug, Default)]
struct LaneState {
    /// The `conn` of the lane's connection socket, once `connect()` or `accept()` named it;
    /// calls on other sockets of the lane (a server's listener) only become Call rows.
    socket: Option<Option<u64>>,
    fin_sent: bool,
    /// `close()` or `shutdown(Read/Both)`: data arriving now is answered with RST.
    read_closed: bool,
    /// `SO_LINGER {on, 0}` is set: `close()` sends RST instead of FIN.
    linger_zero: bool,
}

#[derive(Debug, Default)]
struct Builder {
    known: [bool; 2],
    addrs: [Option<SocketAddr>; 2],
    lanes: [LaneState; 2],
    rows: Vec<Row>,
    /// For each row, both lanes' TCP states as the drawn segments imply them (segment rows
    /// only); kernel states are placed after the segment that led to them.
    implied: Vec<Option<[TcpState; 2]>>,
    states: [Option<TcpState>; 2],
    syn: bool,
    syn_ack: bool,
    ack: bool,
    connected: bool,
    /// An RST was drawn, or the connection was refused: nothing more goes on the wire.
    over: bool,
}

impl Builder {
    fn apply(&mut self, x: Lane, call: &SocketCall) {
        let at = call.at;
        let o = x.other();
        self.learn_addrs(x, call);
        let on_conn = match self.lanes[x.index()].socket {
            Some(socket) => call.conn == socket,
            None => true,
        };
        match (&call.kind, &call.outcome) {
            (CallKind::Resolve { .. } | CallKind::SendTo { .. } | CallKind::RecvFrom { .. }, _) => {
            }
            (CallKind::Socket { .. } | CallKind::Bind { .. } | CallKind::Listen { .. }, _) => {
                self.call_row(x, call);
            }
            (CallKind::SetOption { name, value }, outcome) => {
                self.call_row(x, call);
                if on_conn && *name == "SO_LINGER" && !matches!(outcome, CallOutcome::Failed(_)) {
                    self.lanes[x.index()].linger_zero = linger_is_zero(value);
                }
            }
            (CallKind::Connect { .. }, outcome) => {
                self.call_row(x, call);
                match outcome {
                    CallOutcome::Connected { .. } => {
                        self.lanes[x.index()].socket = Some(call.conn);
                        self.handshake(at);
                    }
                    CallOutcome::Failed(e) if e.kind == NetErrorKind::Refused => {
                        if !self.syn {
                            self.syn = true;
                            self.segment(x, SegmentKind::Syn, at, None);
                        }
                        self.reset(o, at, "ECONNREFUSED");
                    }
                    CallOutcome::Failed(e) if e.kind == NetErrorKind::TimedOut && !self.syn => {
                        self.syn = true;
                        self.segment(x, SegmentKind::Syn, at, Some("ETIMEDOUT"));
                    }
                    _ => {}
                }
            }
            (CallKind::Accept, outcome) => {
                if matches!(outcome, CallOutcome::Accepted { .. }) {
                    self.lanes[x.index()].socket = Some(call.conn);
                    self.handshake(at);
                }
                self.call_row(x, call);
            }
            (CallKind::Send { .. }, outcome) => {
                if on_conn {
                    match outcome {
                        CallOutcome::Bytes(n) if *n > 0 => self.data(x, *n, at),
                        CallOutcome::Failed(e) if e.kind == NetErrorKind::Reset => {
                            self.reset(o, at, "ECONNRESET");
                        }
                        // EPIPE without our own shutdown(Write): the peer's RST came first.
                        CallOutcome::Failed(e)
                            if e.kind == NetErrorKind::BrokenPipe
                                && !self.lanes[x.index()].fin_sent =>
                        {
                            self.reset(o, at, "EPIPE");
                        }
                        _ => {}
                    }
                }
                // A successful send is the data arrow itself.
                if !matches!(outcome, CallOutcome::Bytes(n) if *n > 0) {
                    self.call_row(x, call);
                }
            }
            (CallKind::Recv { .. }, outcome) => {
                if on_conn {
                    match outcome {
                        // An observed sender drew the data at its send().
                        CallOutcome::Bytes(n) if *n > 0 && !self.known[o.index()] => {
                            self.data(o, *n, at);
                        }
                        CallOutcome::Bytes(n) if *n > 0 => self.connected = true,
                        CallOutcome::Bytes(_) => {
                            self.connected = true;
                            self.fin(o, at);
                        }
                        CallOutcome::Failed(e) if e.kind == NetErrorKind::Reset => {
                            self.reset(o, at, "ECONNRESET");
                        }
                        _ => {}
                    }
                }
                self.call_row(x, call);
            }
            (CallKind::Shutdown(how), _) => {
                self.call_row(x, call);
                if on_conn && !call.failed() {
                    if *how != ShutdownHow::Read {
                        self.fin(x, at);
                    }
                    if *how != ShutdownHow::Write {
                        self.lanes[x.index()].read_closed = true;
                    }
                }
            }
            (CallKind::Close, _) => {
                self.call_row(x, call);
                if on_conn {
                    if self.lanes[x.index()].linger_zero && self.connected {
                        self.reset(x, at, "SO_LINGER 0");
                    } else {
                        self.fin(x, at);
                    }
                    self.lanes[x.index()].read_closed = true;
                }
            }
            (CallKind::KernelState(state), _) => {
                if on_conn {
                    self.kernel_implies(x, *state, at);
                }
                self.state_row(x, *state, at);
            }
        }
    }

    fn learn_addrs(&mut self, x: Lane, call: &SocketCall) {
        let (me, peer) = (x.index(), x.other().index());
        match (&call.kind, &call.outcome) {
            (CallKind::Connect { addr }, _) => {
                // The address connected to beats a listener's wildcard bind.
                if self.addrs[peer].is_none_or(|a| a.ip().is_unspecified()) {
                    self.addrs[peer] = Some(*addr);
                }
                if let CallOutcome::Connected { local } = &call.outcome {
                    self.addrs[me] = Some(*local);
                }
            }
            (_, CallOutcome::Accepted { peer: addr, .. }) => self.addrs[peer] = Some(*addr),
            (CallKind::Bind { .. }, CallOutcome::Bound { local }) => {
                self.addrs[me].get_or_insert(*local);
            }
            _ => {}
        }
    }

    fn call_row(&mut self, lane: Lane, call: &SocketCall) {
        self.push(
            Row::Call {
                lane,
                text: call_row_text(call),
                failed: call.failed(),
                at: call.at,
            },
            None,
        );
    }

    fn push(&mut self, row: Row, implied: Option<[TcpState; 2]>) {
        self.rows.push(row);
        self.implied.push(implied);
    }

    /// Draws a segment and moves both lanes' implied states along.
    fn segment(&mut self, from: Lane, kind: SegmentKind, at: SystemTime, note: Option<&str>) {
        use TcpState::*;
        let to = from.other();
        let (f, t) = (from.index(), to.index());
        let mut s = self.states.map(|s| s.unwrap_or(Closed));
        match kind {
            SegmentKind::Syn => (s[f], s[t]) = (SynSent, SynRecv),
            SegmentKind::SynAck => (s[f], s[t]) = (SynRecv, Established),
            SegmentKind::Ack => {
                s[t] = match s[t] {
                    SynRecv => Established,
                    FinWait1 => FinWait2,
                    Closing => TimeWait,
                    LastAck => Closed,
                    other => other,
                }
            }
            SegmentKind::Data { .. } => {}
            SegmentKind::Fin => {
                s[f] = match s[f] {
                    CloseWait => LastAck,
                    _ => FinWait1,
                };
                s[t] = match s[t] {
                    FinWait1 => Closing,
                    FinWait2 => TimeWait,
                    _ => CloseWait,
                };
            }
            SegmentKind::Rst => s = [Closed, Closed],
        }
        self.states = s.map(Some);
        self.push(
            Row::Segment {
                from,
                kind,
                inferred: true,
                at,
                note: note.map(str::to_owned),
            },
            Some(s),
        );
    }

    /// The three-way handshake, once per connection, whichever lane reports it first.
    fn handshake(&mut self, at: SystemTime) {
        if self.over {
            return;
        }
        self.connected = true;
        if !self.syn {
            self.syn = true;
            self.segment(Lane::Client, SegmentKind::Syn, at, None);
        }
        if !self.syn_ack {
            self.syn_ack = true;
            self.segment(Lane::Server, SegmentKind::SynAck, at, None);
        }
        if !self.ack {
            self.ack = true;
            self.segment(Lane::Client, SegmentKind::Ack, at, None);
        }
    }

    /// `from` sent `n` bytes; the other side acknowledges them, or resets if it has closed.
    fn data(&mut self, from: Lane, n: usize, at: SystemTime) {
        if self.over {
            return;
        }
        self.connected = true;
        let to = from.other();
        self.segment(from, SegmentKind::Data { bytes: n }, at, None);
        let receiver = &self.lanes[to.index()];
        if receiver.read_closed && receiver.fin_sent {
            // Data for a socket that was closed (FIN_WAIT): the kernel answers with RST.
            self.reset(to, at, "");
        } else {
            self.segment(to, SegmentKind::Ack, at, None);
        }
    }

    /// `from` sends FIN (once) and the other side acknowledges it. The other direction stays
    /// open: a half-closed connection still carries data towards `from`.
    fn fin(&mut self, from: Lane, at: SystemTime) {
        if self.over || !self.connected || self.lanes[from.index()].fin_sent {
            return;
        }
        self.lanes[from.index()].fin_sent = true;
        self.segment(from, SegmentKind::Fin, at, None);
        self.segment(from.other(), SegmentKind::Ack, at, None);
    }

    /// `from` sends RST (once); the connection is over.
    fn reset(&mut self, from: Lane, at: SystemTime, note: &str) {
        if self.over {
            return;
        }
        self.over = true;
        let note = (!note.is_empty()).then_some(note);
        self.segment(from, SegmentKind::Rst, at, note);
    }

    /// A kernel state confirms segments the calls may not have shown (the peer's FIN behind
    /// CLOSE_WAIT, the handshake behind ESTABLISHED).
    fn kernel_implies(&mut self, x: Lane, state: TcpState, at: SystemTime) {
        use TcpState::*;
        let o = x.other();
        match state {
            SynSent if !self.over && !self.syn => {
                self.syn = true;
                self.segment(Lane::Client, SegmentKind::Syn, at, None);
            }
            SynRecv if !self.over => {
                if !self.syn {
                    self.syn = true;
                    self.segment(Lane::Client, SegmentKind::Syn, at, None);
                }
                if !self.syn_ack {
                    self.syn_ack = true;
                    self.segment(Lane::Server, SegmentKind::SynAck, at, None);
                }
            }
            Established if !self.lanes.iter().any(|l| l.fin_sent) => self.handshake(at),
            FinWait1 | FinWait2 => {
                self.connected = true;
                self.fin(x, at);
            }
            CloseWait => {
                self.connected = true;
                self.fin(o, at);
            }
            LastAck => {
                self.connected = true;
                self.fin(o, at);
                self.fin(x, at);
            }
            Closing | TimeWait => {
                self.connected = true;
                self.fin(x, at);
                self.fin(o, at);
            }
            _ => {}
        }
    }

    /// Puts a kernel state right after the segment that led to it (the kernel is read after the
    /// calls, so its report may come a few rows late), or at the end.
    fn state_row(&mut self, lane: Lane, state: TcpState, at: SystemTime) {
        let row = Row::State { lane, state, at };
        let led_to = self
            .implied
            .iter()
            .rposition(|s| s.is_some_and(|s| s[lane.index()] == state));
        let Some(mut i) = led_to else {
            self.push(row, None);
            return;
        };
        // After any states already placed there; a state reported twice is shown once.
        i += 1;
        while let Some(Row::State {
            lane: l, state: s, ..
        }) = self.rows.get(i)
        {
            if *l == lane && *s == state {
                return;
            }
            i += 1;
        }
        self.rows.insert(i, row);
        self.implied.insert(i, None);
    }
}

/// Whether a `setsockopt(SO_LINGER, value)` turned lingering on with a zero timeout, as the
/// trace writes it (`{on, 0 s}`) or as C does (`{1, 0}`).
fn linger_is_zero(value: &str) -> bool {
    let value = value.to_ascii_lowercase();
    if value.contains("off") {
        return false;
    }
    let numbers: Vec<u64> = value
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect();
    match numbers.as_slice() {
        [secs] => *secs == 0,
        [on, .., secs] => *on != 0 && *secs == 0,
        [] => false,
    }
}

/// The C name of an error, for notes that read the same in every language.
fn errno_name(kind: NetErrorKind) -> Option<&'static str> {
    Some(match kind {
        NetErrorKind::Refused => "ECONNREFUSED",
        NetErrorKind::TimedOut => "ETIMEDOUT",
        NetErrorKind::Reset => "ECONNRESET",
        NetErrorKind::BrokenPipe => "EPIPE",
        NetErrorKind::NoRoute => "EHOSTUNREACH",
        NetErrorKind::NetworkUnreachable => "ENETUNREACH",
        NetErrorKind::AddrInUse => "EADDRINUSE",
        NetErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
        NetErrorKind::PermissionDenied => "EACCES",
        NetErrorKind::TooManyOpenFiles => "EMFILE",
        _ => return None,
    })
}

/// The call as code with what it returned, as a C program would see it: `recv(1024) → 0`,
/// `connect(127.0.0.1:1) → -1 ECONNREFUSED`.
fn call_row_text(call: &SocketCall) -> String {
    let text = call.call_text();
    match &call.outcome {
        CallOutcome::Bytes(n) => format!("{text} → {n}"),
        CallOutcome::Descriptor(fd) | CallOutcome::Accepted { fd, .. } if *fd >= 0 => {
            format!("{text} → {fd}")
        }
        CallOutcome::Failed(e) => match errno_name(e.kind) {
            Some(name) => format!("{text} → -1 {name}"),
            None => format!("{text} → -1"),
        },
        _ => text,
    }
}

// ---------------------------------------------------------------------------------------------
// SVG export

/// Width of the exported figure, in SVG user units.
pub const SVG_WIDTH: f32 = 900.0;
const SVG_LEGEND_LINE: f32 = 20.0;
const SVG_MONO_CHAR: f32 = 7.3;

/// Colours of the exported figure (a white page).
const INK: &str = "#24292f";
const WEAK: &str = "#6e7781";
const LANE: &str = "#8c959f";

fn svg_color(kind: SegmentKind) -> (&'static str, &'static str) {
    match kind {
        SegmentKind::Syn | SegmentKind::SynAck | SegmentKind::Ack => ("hs", "#0969da"),
        SegmentKind::Data { .. } => ("data", INK),
        SegmentKind::Fin => ("fin", "#9a6700"),
        SegmentKind::Rst => ("rst", "#cf222e"),
    }
}

/// Text with `&`, `<`, `>` and quotes escaped for XML.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The diagram as a standalone SVG document: lanes with headers, one `<line>` per segment
/// (dashed when inferred), kernel states as boxes, the program's calls beside their lane, and
/// the legend.
pub fn to_svg(d: &Diagram, lang: Lang) -> String {
    let w = SVG_WIDTH;
    let x = LANE_X.map(|f| (w * f).round());
    let legend_top = HEADER_HEIGHT + d.rows_height() + 16.0;
    let h = legend_top + 3.0 * SVG_LEGEND_LINE + 8.0;
    let mut s = String::new();
    // `write!` into a String cannot fail.
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        s,
        "<title>{}</title>",
        xml_escape(lang.t(Msg::DiagramTitle))
    );
    s.push_str("<defs>\n");
    for kind in [
        SegmentKind::Syn,
        SegmentKind::Data { bytes: 0 },
        SegmentKind::Fin,
        SegmentKind::Rst,
    ] {
        let (id, color) = svg_color(kind);
        let _ = writeln!(
            s,
            r#"<marker id="arrow-{id}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>"#
        );
    }
    s.push_str("</defs>\n");
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);

    // Lane heads and lines.
    for head in &d.lanes {
        let lx = x[head.lane.index()];
        let _ = writeln!(
            s,
            r#"<text x="{lx}" y="18" text-anchor="middle" font-weight="bold" fill="{INK}">{}</text>"#,
            xml_escape(&head.title(lang))
        );
        if let Some(addr) = head.addr {
            let _ = writeln!(
                s,
                r#"<text x="{lx}" y="36" text-anchor="middle" font-family="monospace" font-size="12" fill="{WEAK}">{}</text>"#,
                xml_escape(&addr.to_string())
            );
        }
        let dash = if head.observed {
            ""
        } else {
            r#" stroke-dasharray="2 4""#
        };
        let _ = writeln!(
            s,
            r#"<path d="M{lx} {HEADER_HEIGHT} V{}" stroke="{LANE}" stroke-width="2"{dash}/>"#,
            legend_top - 8.0
        );
    }

    let mut y = HEADER_HEIGHT;
    for row in &d.rows {
        match row {
            Row::Segment {
                from,
                kind,
                inferred,
                note,
                ..
            } => {
                let (x1, x2) = (x[from.index()], x[from.other().index()]);
                let y1 = y + 22.0;
                let y2 = y1 + SEGMENT_SLANT;
                let (id, color) = svg_color(*kind);
                let dash = if *inferred {
                    r#" stroke-dasharray="6 4""#
                } else {
                    ""
                };
                let _ = writeln!(
                    s,
                    r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}" stroke-width="1.5"{dash} marker-end="url(#arrow-{id})"/>"#
                );
                // One text element: not every renderer flows a <tspan> after the label.
                let label = match note {
                    Some(note) => format!("{} ({note})", kind.label(lang)),
                    None => kind.label(lang),
                };
                let _ = writeln!(
                    s,
                    r#"<text x="{}" y="{}" text-anchor="middle" fill="{color}">{}</text>"#,
                    (x1 + x2) / 2.0,
                    y1 + SEGMENT_SLANT / 2.0 - 6.0,
                    xml_escape(&label)
                );
            }
            Row::State { lane, state, .. } => {
                let name = state.name();
                let bw = name.len() as f32 * SVG_MONO_CHAR + 14.0;
                let lx = x[lane.index()];
                let _ = writeln!(
                    s,
                    r##"<rect x="{}" y="{}" width="{bw}" height="18" rx="4" fill="#f6f8fa" stroke="{LANE}"/>"##,
                    lx - bw / 2.0,
                    y + 4.0
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{lx}" y="{}" text-anchor="middle" font-family="monospace" font-size="12" fill="{INK}">{name}</text>"#,
                    y + 17.0
                );
            }
            Row::Call {
                lane, text, failed, ..
            } => {
                let (tx, anchor) = match lane {
                    Lane::Client => (x[0] - 8.0, "end"),
                    Lane::Server => (x[1] + 8.0, "start"),
                };
                let color = if *failed { "#cf222e" } else { INK };
                let _ = writeln!(
                    s,
                    r#"<text x="{tx}" y="{}" text-anchor="{anchor}" font-family="monospace" font-size="12" fill="{color}">{}</text>"#,
                    y + 14.0,
                    xml_escape(text)
                );
            }
        }
        y += row.height();
    }

    // Legend: a dashed arrow, a state box, a call.
    let lx = 16.0;
    let tx = lx + 44.0;
    let mut ly = legend_top + 14.0;
    let _ = writeln!(
        s,
        r#"<path d="M{lx} {} h34" stroke="{INK}" stroke-width="1.5" stroke-dasharray="6 4"/>"#,
        ly - 4.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{tx}" y="{ly}" fill="{WEAK}">{}</text>"#,
        xml_escape(lang.t(Msg::DiagramLegendInferred))
    );
    ly += SVG_LEGEND_LINE;
    let _ = writeln!(
        s,
        r##"<rect x="{lx}" y="{}" width="34" height="14" rx="4" fill="#f6f8fa" stroke="{LANE}"/>"##,
        ly - 12.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{tx}" y="{ly}" fill="{WEAK}">{}</text>"#,
        xml_escape(lang.t(Msg::DiagramLegendState))
    );
    ly += SVG_LEGEND_LINE;
    let _ = writeln!(
        s,
        r#"<text x="{lx}" y="{ly}" font-family="monospace" font-size="12" fill="{INK}">f()</text>"#
    );
    let _ = writeln!(
        s,
        r#"<text x="{tx}" y="{ly}" fill="{WEAK}">{}</text>"#,
        xml_escape(lang.t(Msg::DiagramLegendCalls))
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linger_values() {
        for (value, zero) in [
            ("{on, 0 s}", true),
            ("{1, 0}", true),
            ("{on, 5 s}", false),
            ("{0, 0}", false),
            ("off", false),
            ("", false),
        ] {
            assert_eq!(linger_is_zero(value), zero, "{value}");
        }
    }

    #[test]
    fn escapes_xml() {
        assert_eq!(
            xml_escape(r#"<a & "b" 'c'>"#),
            "&lt;a &amp; &quot;b&quot; &apos;c&apos;&gt;"
        );
    }
}
