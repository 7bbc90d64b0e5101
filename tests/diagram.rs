//! The connection's sequence diagram, built from hand-written traces: the lesson's figures
//! (handshake, data with ACKs, four-way close), a half-close, resets, a refused connect, one
//! lane only; its SVG export; and the panel drawing it through egui_kittest.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use socket_workbench::i18n::Lang;
use socket_workbench::model::diagram::{Diagram, Lane, LaneCall, Row, build, to_svg};
use socket_workbench::net::trace::TcpState;
use socket_workbench::net::{
    CallKind, CallOutcome, NetError, NetErrorKind, ShutdownHow, SocketCall,
};
use socket_workbench::ui::diagram_view::{diagram_height, diagram_ui};

const C: Lane = Lane::Client;
const S: Lane = Lane::Server;
/// The server's connection socket (`accept()`'s), as the server engine numbers it.
const CONN: Option<u64> = Some(1);

fn server_addr() -> SocketAddr {
    "127.0.0.1:7890".parse().unwrap()
}

fn client_addr() -> SocketAddr {
    "127.0.0.1:50312".parse().unwrap()
}

fn err(kind: NetErrorKind) -> CallOutcome {
    CallOutcome::Failed(NetError::new(kind, "os says no"))
}

/// A merged trace written call by call, each a millisecond after the last.
#[derive(Default)]
struct Trace(Vec<LaneCall>);

impl Trace {
    fn call(&mut self, lane: Lane, conn: Option<u64>, kind: CallKind, outcome: CallOutcome) {
        let at = UNIX_EPOCH + Duration::from_millis(self.0.len() as u64);
        let call = SocketCall {
            at,
            kind,
            outcome,
            conn,
        };
        self.0.push(LaneCall { lane, call });
    }

    /// A client call.
    fn c(&mut self, kind: CallKind, outcome: CallOutcome) -> &mut Self {
        self.call(C, None, kind, outcome);
        self
    }

    /// A server call on the connection socket.
    fn s(&mut self, kind: CallKind, outcome: CallOutcome) -> &mut Self {
        self.call(S, CONN, kind, outcome);
        self
    }

    /// A server call on the listening socket.
    fn listener(&mut self, kind: CallKind, outcome: CallOutcome) -> &mut Self {
        self.call(S, None, kind, outcome);
        self
    }

    fn server_listens(&mut self) -> &mut Self {
        let socket = CallKind::Socket {
            family: socket_workbench::net::trace::Family::V4,
            datagram: false,
        };
        self.listener(socket, CallOutcome::Descriptor(3))
            .listener(
                CallKind::Bind {
                    addr: server_addr(),
                },
                CallOutcome::Bound {
                    local: server_addr(),
                },
            )
            .listener(CallKind::Listen { backlog: 128 }, CallOutcome::Done)
    }

    fn client_connects(&mut self) -> &mut Self {
        let socket = CallKind::Socket {
            family: socket_workbench::net::trace::Family::V4,
            datagram: false,
        };
        self.c(socket, CallOutcome::Descriptor(3)).c(
            CallKind::Connect {
                addr: server_addr(),
            },
            CallOutcome::Connected {
                local: client_addr(),
            },
        )
    }

    fn server_accepts(&mut self) -> &mut Self {
        self.s(
            CallKind::Accept,
            CallOutcome::Accepted {
                fd: 4,
                peer: client_addr(),
            },
        )
    }

    fn c_send(&mut self, n: usize) -> &mut Self {
        self.c(CallKind::Send { len: n }, CallOutcome::Bytes(n))
    }

    fn s_send(&mut self, n: usize) -> &mut Self {
        self.s(CallKind::Send { len: n }, CallOutcome::Bytes(n))
    }

    fn c_recv(&mut self, n: usize) -> &mut Self {
        self.c(CallKind::Recv { buf: 4096 }, CallOutcome::Bytes(n))
    }

    fn s_recv(&mut self, n: usize) -> &mut Self {
        self.s(CallKind::Recv { buf: 4096 }, CallOutcome::Bytes(n))
    }

    fn build(&self, known: [bool; 2]) -> Diagram {
        build(&self.0, known)
    }
}

/// The segments as "C SYN", "S data 5 B", ... (the lane that sends, then the label).
fn segments(d: &Diagram) -> Vec<String> {
    d.segments()
        .map(|(from, kind)| {
            let lane = if from == C { "C" } else { "S" };
            format!("{lane} {}", kind.label(Lang::En))
        })
        .collect()
}

/// Every row in order, for checking where calls and kernel states land.
fn rows(d: &Diagram) -> Vec<String> {
    let lane = |l: &Lane| if *l == C { "C" } else { "S" };
    d.rows
        .iter()
        .map(|row| match row {
            Row::Segment { from, kind, .. } => format!("{} {}", lane(from), kind.label(Lang::En)),
            Row::State { lane: l, state, .. } => format!("{} [{}]", lane(l), state.name()),
            Row::Call { lane: l, text, .. } => format!("{} {text}", lane(l)),
        })
        .collect()
}

const HANDSHAKE: [&str; 3] = ["C SYN", "S SYN+ACK", "C ACK"];

fn with_handshake(rest: &[&str]) -> Vec<String> {
    HANDSHAKE
        .iter()
        .chain(rest)
        .map(|s| (*s).to_owned())
        .collect()
}

fn handshake_data_close() -> Trace {
    let mut t = Trace::default();
    t.server_listens()
        .client_connects()
        .server_accepts()
        .c_send(5)
        .s_recv(5)
        .s_send(5)
        .c_recv(5)
        .c(CallKind::Close, CallOutcome::Done)
        .s_recv(0)
        .s(CallKind::Close, CallOutcome::Done)
        .listener(CallKind::Close, CallOutcome::Done);
    t
}

#[test]
fn handshake_data_and_four_way_close() {
    let d = handshake_data_close().build([true, true]);
    assert_eq!(
        segments(&d),
        with_handshake(&[
            "C data 5 B",
            "S ACK",
            "S data 5 B",
            "C ACK",
            "C FIN",
            "S ACK",
            "S FIN",
            "C ACK",
        ])
    );
    assert!(d.rows.iter().all(|row| match row {
        Row::Segment { inferred, .. } => *inferred,
        _ => true,
    }));
    // The calls are on their lanes, in order; the listener's close() draws no FIN.
    let rows = rows(&d);
    let calls: Vec<&str> = rows
        .iter()
        .map(String::as_str)
        .filter(|r| r.contains('('))
        .collect();
    assert_eq!(
        calls,
        [
            "S socket(AF_INET, SOCK_STREAM) → 3",
            "S bind(127.0.0.1:7890)",
            "S listen(128)",
            "C socket(AF_INET, SOCK_STREAM) → 3",
            "C connect(127.0.0.1:7890)",
            "S accept() → 4",
            "S recv(4096) → 5",
            "C recv(4096) → 5",
            "C close()",
            "S recv(4096) → 0",
            "S close()",
            "S close()",
        ]
    );
    assert_eq!(d.lanes[0].addr, Some(client_addr()));
    assert_eq!(d.lanes[1].addr, Some(server_addr()));
    assert!(d.lanes.iter().all(|l| l.observed));
    assert_eq!(d.lane(C).label(Lang::En), "Client 127.0.0.1:50312");
}

#[test]
fn no_duplicate_handshake_whichever_lane_reports_first() {
    for accept_first in [false, true] {
        let mut t = Trace::default();
        t.server_listens();
        if accept_first {
            t.server_accepts().client_connects();
        } else {
            t.client_connects().server_accepts();
        }
        let d = t.build([true, true]);
        assert_eq!(
            segments(&d),
            with_handshake(&[]),
            "accept first: {accept_first}"
        );
    }
}

#[test]
fn half_close_lets_the_other_direction_carry_data() {
    let mut t = Trace::default();
    t.server_listens()
        .client_connects()
        .server_accepts()
        .c_send(3)
        .c(CallKind::Shutdown(ShutdownHow::Write), CallOutcome::Done)
        .s_recv(3)
        .s_recv(0)
        .s_send(7)
        .c_recv(7)
        .s(CallKind::Close, CallOutcome::Done)
        .c_recv(0)
        .c(CallKind::Close, CallOutcome::Done);
    let d = t.build([true, true]);
    assert_eq!(
        segments(&d),
        with_handshake(&[
            "C data 3 B",
            "S ACK",
            "C FIN",
            "S ACK",
            "S data 7 B",
            "C ACK",
            "S FIN",
            "C ACK",
        ])
    );
}

#[test]
fn data_for_a_closed_socket_is_answered_with_rst() {
    let mut t = Trace::default();
    t.client_connects()
        .server_accepts()
        .c(CallKind::Close, CallOutcome::Done)
        .s_send(4)
        .s(CallKind::Send { len: 4 }, err(NetErrorKind::BrokenPipe))
        .s(CallKind::Close, CallOutcome::Done);
    let d = t.build([true, true]);
    assert_eq!(
        segments(&d),
        with_handshake(&["C FIN", "S ACK", "S data 4 B", "C RST"])
    );
}

#[test]
fn so_linger_zero_then_close_sends_rst() {
    let mut t = Trace::default();
    t.server_listens()
        .client_connects()
        .server_accepts()
        .c_send(2)
        .s(
            CallKind::SetOption {
                name: "SO_LINGER",
                value: "{on, 0 s}".into(),
            },
            CallOutcome::Done,
        )
        .s(CallKind::Close, CallOutcome::Done)
        .c(CallKind::Recv { buf: 4096 }, err(NetErrorKind::Reset))
        .c(CallKind::Close, CallOutcome::Done);
    let d = t.build([true, true]);
    assert_eq!(
        segments(&d),
        with_handshake(&["C data 2 B", "S ACK", "S RST"])
    );
    let note = d.rows.iter().find_map(|row| match row {
        Row::Segment { note, .. } => note.clone(),
        _ => None,
    });
    assert_eq!(note.as_deref(), Some("SO_LINGER 0"));
    assert!(rows(&d).contains(&"C recv(4096) → -1 ECONNRESET".to_owned()));
}

#[test]
fn a_reset_seen_by_recv_is_drawn_from_the_peer() {
    let mut t = Trace::default();
    t.client_connects()
        .c(CallKind::Recv { buf: 4096 }, err(NetErrorKind::Reset))
        .c(CallKind::Close, CallOutcome::Done);
    let d = t.build([true, false]);
    assert_eq!(segments(&d), with_handshake(&["S RST"]));
}

#[test]
fn refused_connect_is_syn_then_rst() {
    let mut t = Trace::default();
    t.c(
        CallKind::Socket {
            family: socket_workbench::net::trace::Family::V4,
            datagram: false,
        },
        CallOutcome::Descriptor(3),
    )
    .c(
        CallKind::Connect {
            addr: server_addr(),
        },
        err(NetErrorKind::Refused),
    )
    .c(CallKind::Close, CallOutcome::Done);
    let d = t.build([true, false]);
    assert_eq!(
        rows(&d),
        [
            "C socket(AF_INET, SOCK_STREAM) → 3",
            "C connect(127.0.0.1:7890) → -1 ECONNREFUSED",
            "C SYN",
            "S RST",
            "C close()",
        ]
    );
    assert!(matches!(&d.rows[1], Row::Call { failed: true, .. }));
    assert!(matches!(&d.rows[3], Row::Segment { note: Some(n), .. } if n == "ECONNREFUSED"));
}

#[test]
fn client_lane_only_draws_the_server_as_peer() {
    let mut t = Trace::default();
    t.client_connects()
        .c_send(3)
        .c_recv(4)
        .c_recv(0)
        .c(CallKind::Close, CallOutcome::Done);
    let d = t.build([true, false]);
    assert_eq!(
        segments(&d),
        with_handshake(&[
            "C data 3 B",
            "S ACK",
            "S data 4 B",
            "C ACK",
            "S FIN",
            "C ACK",
            "C FIN",
            "S ACK",
        ])
    );
    let server = d.lane(S);
    assert!(!server.observed);
    assert_eq!(server.addr, Some(server_addr()));
    assert_eq!(server.title(Lang::En), "Server (peer)");
    assert_eq!(server.title(Lang::Zh), "服务器（对端）");
    assert_eq!(server.label(Lang::En), "Server (peer) 127.0.0.1:7890");
    assert!(
        d.rows
            .iter()
            .all(|row| !matches!(row, Row::Call { lane, .. } if *lane == S))
    );
}

#[test]
fn calls_given_for_a_peer_lane_are_ignored() {
    let mut t = Trace::default();
    t.client_connects()
        .c_send(3)
        .c(CallKind::Close, CallOutcome::Done);
    let client_only = t.build([true, false]);
    let mut both = Trace::default();
    both.server_listens()
        .client_connects()
        .server_accepts()
        .c_send(3)
        .s_recv(3)
        .c(CallKind::Close, CallOutcome::Done)
        .s(CallKind::Close, CallOutcome::Done);
    let d = both.build([true, false]);
    assert_eq!(rows(&d), rows(&client_only));
    assert_eq!(d.lanes, client_only.lanes);
}

#[test]
fn server_lane_only_draws_the_client_as_peer() {
    let mut t = Trace::default();
    t.server_listens()
        .server_accepts()
        .s_recv(5)
        .s_send(5)
        .s_recv(0)
        .s(CallKind::Close, CallOutcome::Done);
    let d = t.build([false, true]);
    assert_eq!(
        segments(&d),
        with_handshake(&[
            "C data 5 B",
            "S ACK",
            "S data 5 B",
            "C ACK",
            "C FIN",
            "S ACK",
            "S FIN",
            "C ACK",
        ])
    );
    assert_eq!(d.lane(C).addr, Some(client_addr()));
    assert_eq!(d.lane(C).title(Lang::En), "Client (peer)");
    // The handshake comes before accept() returns; the data before recv() returns it.
    let rows = rows(&d);
    let at = |r: &str| rows.iter().position(|x| x == r).unwrap();
    assert!(at("C ACK") < at("S accept() → 4"));
    assert!(at("C data 5 B") < at("S recv(4096) → 5"));
}

#[test]
fn kernel_states_sit_after_the_segment_that_led_to_them() {
    let mut t = Trace::default();
    let state = |t: &mut Trace, lane, s| {
        let conn = if lane == S { CONN } else { None };
        t.call(lane, conn, CallKind::KernelState(s), CallOutcome::Done);
    };
    t.client_connects().server_accepts();
    state(&mut t, C, TcpState::Established);
    state(&mut t, S, TcpState::Established);
    t.c(CallKind::Close, CallOutcome::Done);
    // Read from the kernel a little late: after the server's recv() → 0.
    t.s_recv(0);
    state(&mut t, C, TcpState::FinWait2);
    state(&mut t, S, TcpState::CloseWait);
    t.s(CallKind::Close, CallOutcome::Done);
    state(&mut t, C, TcpState::TimeWait);
    state(&mut t, C, TcpState::TimeWait);
    let d = t.build([true, true]);
    assert_eq!(
        rows(&d)[1..],
        [
            "C connect(127.0.0.1:7890)",
            "C SYN",
            "S SYN+ACK",
            "C ACK",
            "C [ESTABLISHED]",
            "S [ESTABLISHED]",
            "S accept() → 4",
            "C close()",
            "C FIN",
            "S ACK",
            "C [FIN_WAIT2]",
            "S [CLOSE_WAIT]",
            "S recv(4096) → 0",
            "S close()",
            "S FIN",
            "C ACK",
            "C [TIME_WAIT]",
        ]
    );
}

#[test]
fn kernel_states_alone_imply_the_peers_fin() {
    let mut t = Trace::default();
    t.client_connects();
    t.call(
        C,
        None,
        CallKind::KernelState(TcpState::CloseWait),
        CallOutcome::Done,
    );
    let d = t.build([true, false]);
    assert_eq!(segments(&d), with_handshake(&["S FIN", "C ACK"]));
    assert!(matches!(
        d.rows.last(),
        Some(Row::State {
            state: TcpState::CloseWait,
            ..
        })
    ));
}

fn all_kinds_diagram() -> Diagram {
    // Handshake, data, a FIN and an RST, and a call whose text needs escaping.
    let mut t = Trace::default();
    t.client_connects()
        .server_accepts()
        .c_send(5)
        .c(CallKind::Shutdown(ShutdownHow::Write), CallOutcome::Done)
        .s(
            CallKind::SetOption {
                name: "SO_LINGER",
                value: "<on> & 0 \"s\"".into(),
            },
            CallOutcome::Done,
        )
        .s(CallKind::Close, CallOutcome::Done);
    t.call(
        S,
        CONN,
        CallKind::KernelState(TcpState::Closed),
        CallOutcome::Done,
    );
    t.build([true, true])
}

#[test]
fn svg_has_every_label_one_line_per_segment_and_escaped_text() {
    let d = all_kinds_diagram();
    assert_eq!(
        segments(&d),
        with_handshake(&["C data 5 B", "S ACK", "C FIN", "S ACK", "S RST"])
    );
    let svg = to_svg(&d, Lang::En);
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    for label in [
        ">SYN<",
        ">SYN+ACK<",
        ">ACK<",
        ">data 5 B<",
        ">FIN<",
        ">RST ",
        ">CLOSED<",
        "Client",
        "Server",
        "127.0.0.1:7890",
        "inferred from socket calls",
    ] {
        assert!(svg.contains(label), "{label} missing in\n{svg}");
    }
    assert_eq!(svg.matches("<line").count(), d.segments().count());
    // Every segment is inferred, so every arrow is dashed.
    let dashed = svg
        .lines()
        .filter(|l| l.starts_with("<line") && l.contains("stroke-dasharray"))
        .count();
    assert_eq!(dashed, d.segments().count());
    assert!(svg.contains("&lt;on&gt; &amp; 0 &quot;s&quot;"));
    assert!(!svg.contains("<on>"));
    // Balanced elements: every opened text closes.
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());

    let zh = to_svg(&d, Lang::Zh);
    assert!(zh.contains("数据 5 字节"));
    assert!(zh.contains("客户端"));
    assert!(zh.contains("根据套接字调用推断"));
}

/// `zoom` as egui's zoom does it: fewer points in the same window, each drawn bigger.
fn harness(d: Diagram, lang: Lang, zoom: f32) -> Harness<'static> {
    Harness::builder()
        .with_size(egui::vec2(900.0, 1000.0) / zoom)
        .with_pixels_per_point(zoom)
        .with_context_setup(socket_workbench::fonts::install)
        .build_ui(move |ui| diagram_ui(ui, &d, lang, true, false))
}

fn shows(h: &Harness<'_>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

#[test]
fn panel_draws_the_handshake_with_labels() {
    let d = handshake_data_close().build([true, true]);
    assert!(diagram_height(&d) > d.rows_height());
    let mut h = harness(d, Lang::En, 1.0);
    h.run();
    for text in [
        "SYN+ACK",
        "data 5 B",
        "FIN",
        "Client",
        "127.0.0.1:7890",
        "connect(127.0.0.1:7890)",
        "inferred from socket calls",
    ] {
        assert!(shows(&h, text), "{text} not shown");
    }
}

#[test]
fn panel_draws_in_chinese_at_high_zoom_and_when_empty() {
    let d = all_kinds_diagram();
    let mut h = harness(d, Lang::Zh, 3.0);
    h.run();
    // Only the rows in view are drawn, and the view follows the newest row.
    assert!(shows(&h, "RST"), "the newest row is in view");
    assert!(
        !shows(&h, "SYN+ACK"),
        "the oldest rows are scrolled away at 3x zoom"
    );
    assert!(shows(&h, "客户端"));

    let empty = build(&[], [true, false]);
    let mut h = harness(empty, Lang::En, 1.0);
    h.run();
    assert!(shows(&h, "No connection yet"));
    assert!(shows(&h, "Server (peer)"));
}

#[test]
fn rows_are_in_time_order_apart_from_late_kernel_states() {
    let d = handshake_data_close().build([true, true]);
    let times: Vec<SystemTime> = d.rows.iter().map(Row::at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}
