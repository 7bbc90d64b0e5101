//! Each one-click scenario run headless, with its key outcome asserted, and step mode driven
//! call by call. Loopback only; every wait is bounded.

use std::time::Instant;

use socket_workbench::net::scenario::{
    LessonFinding, LessonScenario, ScenarioEvent, Side, run_scenario,
};
use socket_workbench::net::step::{
    ClientStage, ServerStage, Step, StepCommand, StepEvent, legal, spawn_step_lab,
};
use socket_workbench::net::trace::TcpState;
use socket_workbench::net::{CallKind, CallOutcome, NetErrorKind, Waker};

mod common;
use common::LIMIT;

fn run(s: LessonScenario) -> Vec<ScenarioEvent> {
    let events = std::sync::Mutex::new(Vec::new());
    run_scenario(s, &|e| events.lock().unwrap().push(e));
    let events = events.into_inner().unwrap();
    assert!(
        matches!(events.last(), Some(ScenarioEvent::Done)),
        "{s:?} did not finish: {events:#?}"
    );
    events
}

fn findings(events: &[ScenarioEvent]) -> Vec<LessonFinding> {
    events
        .iter()
        .filter_map(|e| match e {
            ScenarioEvent::LessonFinding(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

/// The kernel states recorded on one side, in order.
fn states(events: &[ScenarioEvent], side: Side) -> Vec<TcpState> {
    events
        .iter()
        .filter_map(|e| match e {
            ScenarioEvent::Call { side: s, call } if *s == side => match call.kind {
                CallKind::KernelState(st) => Some(st),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

fn linux() -> bool {
    cfg!(target_os = "linux")
}

#[test]
fn handshake_and_four_way_close() {
    let ev = run(LessonScenario::Handshake);
    if !linux() {
        return;
    }
    let client = states(&ev, Side::Client);
    let server = states(&ev, Side::Server);
    assert_eq!(client.first(), Some(&TcpState::Established), "{client:?}");
    assert!(client.contains(&TcpState::FinWait2), "{client:?}");
    assert_eq!(client.last(), Some(&TcpState::TimeWait), "{client:?}");
    assert_eq!(server.first(), Some(&TcpState::Listen), "{server:?}");
    assert!(server.contains(&TcpState::CloseWait), "{server:?}");
    assert!(findings(&ev).contains(&LessonFinding::TimeWait { side: Side::Client }));
}

#[test]
fn half_close_keeps_the_other_direction() {
    let ev = run(LessonScenario::HalfClose);
    let f = findings(&ev);
    assert!(
        f.iter()
            .any(|f| matches!(f, LessonFinding::DataAfterHalfClose { bytes } if *bytes > 0)),
        "{f:?}"
    );
    if linux() {
        assert!(states(&ev, Side::Client).contains(&TcpState::FinWait2));
        assert!(states(&ev, Side::Server).contains(&TcpState::CloseWait));
    }
}

#[test]
fn time_wait_on_the_side_that_closed_first_and_reuseaddr() {
    let ev = run(LessonScenario::TimeWait);
    let f = findings(&ev);
    if linux() {
        assert!(
            f.contains(&LessonFinding::TimeWait { side: Side::Server }),
            "{f:?}"
        );
    }
    let rebind = f
        .iter()
        .find_map(|f| match f {
            LessonFinding::Rebind {
                without,
                with_reuse,
            } => Some((without.clone(), with_reuse.clone())),
            _ => None,
        })
        .expect("a rebind finding");
    if linux() {
        let without = rebind
            .0
            .expect("bind without SO_REUSEADDR fails during TIME_WAIT");
        assert_eq!(without.kind, NetErrorKind::AddrInUse, "{without:?}");
    }
    assert!(rebind.1.is_none(), "with SO_REUSEADDR: {:?}", rebind.1);
}

#[cfg_attr(
    wine,
    ignore = "Wine 8 closes gracefully (FIN) on SO_LINGER 0 instead of sending RST: see scripts/wine/probe.c"
)]
#[test]
fn abortive_close_is_a_reset() {
    let ev = run(LessonScenario::Abortive);
    let f = findings(&ev);
    assert!(
        f.contains(&LessonFinding::ResetSeen { side: Side::Client }),
        "{f:?}"
    );
    if linux() {
        assert!(f.contains(&LessonFinding::NoTimeWait), "{f:?}");
    }
    // The client's recv() in the trace failed with a reset.
    assert!(ev.iter().any(|e| matches!(e,
        ScenarioEvent::Call { side: Side::Client, call }
            if matches!(call.kind, CallKind::Recv { .. })
            && matches!(&call.outcome, CallOutcome::Failed(e) if e.kind == NetErrorKind::Reset))));
}

#[test]
fn backlog_full_leaves_clients_in_syn_sent() {
    let ev = run(LessonScenario::BacklogFull);
    if !linux() {
        return;
    }
    let f = findings(&ev);
    let (waiting, of) = f
        .iter()
        .find_map(|f| match f {
            LessonFinding::SynSent { waiting, of } => Some((*waiting, *of)),
            _ => None,
        })
        .expect("a SYN_SENT finding");
    assert!(waiting > 0 && waiting < of, "{waiting} of {of} in SYN_SENT");
}

#[test]
fn tcp_merges_udp_keeps_boundaries() {
    let ev = run(LessonScenario::Boundaries);
    let f = findings(&ev);
    let merged: Vec<(usize, usize)> = f
        .iter()
        .filter_map(|f| match f {
            LessonFinding::TcpMerged { sends, recvs, .. } => Some((*sends, *recvs)),
            _ => None,
        })
        .collect();
    assert_eq!(merged.len(), 2, "{f:?}");
    for (sends, recvs) in merged {
        assert!(recvs < sends, "{sends} sends read in {recvs} recv() calls");
    }
    assert!(f.contains(&LessonFinding::UdpKept {
        sent: 10,
        received: 10
    }));
}

#[test]
fn udp_loss_is_counted_by_the_kernel() {
    let ev = run(LessonScenario::UdpLoss);
    if !linux() {
        return;
    }
    let f = findings(&ev);
    let (sent, received, dropped) = f
        .iter()
        .find_map(|f| match f {
            LessonFinding::UdpDropped {
                sent,
                received,
                dropped,
            } => Some((*sent, *received, *dropped)),
            _ => None,
        })
        .expect("a drop finding");
    assert!(dropped > 0, "{f:?}");
    assert_eq!(received as u64 + dropped, sent as u64, "{f:?}");
}

#[test]
fn closed_port_udp_error_vs_tcp_refused() {
    let ev = run(LessonScenario::UdpClosedPort);
    let f = findings(&ev);
    let (udp, tcp) = f
        .iter()
        .find_map(|f| match f {
            LessonFinding::ClosedPort { udp, tcp } => Some((udp.clone(), tcp.clone())),
            _ => None,
        })
        .expect("a closed-port finding");
    assert_eq!(tcp.map(|e| e.kind), Some(NetErrorKind::Refused));
    if linux() {
        assert_eq!(udp.map(|e| e.kind), Some(NetErrorKind::NobodyListening));
    }
}

// ---------------------------------------------------------------------------------------------
// Step mode
// ---------------------------------------------------------------------------------------------

/// The step lab as a test drives it: one call at a time, each followed by the stages it led
/// to.
struct StepLab {
    handle: socket_workbench::net::step::StepHandle,
    rx: flume::Receiver<socket_workbench::net::step::StepMsg>,
    stages: (ServerStage, ClientStage),
    states: (Option<TcpState>, Option<TcpState>),
    log: Vec<StepEvent>,
}

impl StepLab {
    fn new() -> Self {
        let (tx, rx) = flume::unbounded();
        let handle = spawn_step_lab(tx, Waker::noop()).expect("spawn");
        Self {
            handle,
            rx,
            stages: (ServerStage::None, ClientStage::None),
            states: (None, None),
            log: Vec::new(),
        }
    }

    /// Makes a call and waits (bounded) for the stages that follow it.
    fn step(&mut self, step: Step) -> Vec<StepEvent> {
        assert!(
            legal(step, self.stages.0, self.stages.1),
            "{step:?} is not legal in {:?}",
            self.stages
        );
        self.handle.command(StepCommand::Do(step));
        let mut got = Vec::new();
        let deadline = Instant::now() + LIMIT;
        loop {
            let e = self
                .rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|e| panic!("no stages after {step:?}: {e:?} {got:#?}"))
                .event;
            got.push(e.clone());
            self.log.push(e.clone());
            if let StepEvent::Stages {
                server,
                client,
                server_state,
                client_state,
            } = e
            {
                self.stages = (server, client);
                self.states = (server_state, client_state);
                return got;
            }
        }
    }

    /// Waits (bounded) until a side's kernel state is `want`.
    fn wait_state(&mut self, side: Side, want: TcpState) {
        let deadline = Instant::now() + LIMIT;
        while match side {
            Side::Server => self.states.0,
            Side::Client => self.states.1,
        } != Some(want)
        {
            let e = self
                .rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("{side:?} never reached {want:?}: {:?}", self.states))
                .event;
            if let StepEvent::Stages {
                server_state,
                client_state,
                ..
            } = e
            {
                self.states = (server_state, client_state);
            }
        }
    }
}

fn outcome(events: &[StepEvent]) -> Option<CallOutcome> {
    events.iter().find_map(|e| match e {
        StepEvent::Call {
            step: Some(_),
            call,
            ..
        } => Some(call.outcome.clone()),
        _ => None,
    })
}

#[test]
fn step_mode_walks_the_lesson() {
    let mut lab = StepLab::new();
    lab.step(Step::ServerSocket);
    assert_eq!(lab.stages.0, ServerStage::Created);
    lab.step(Step::ServerBind);
    lab.step(Step::ServerListen);
    assert_eq!(lab.stages.0, ServerStage::Listening);
    if linux() {
        assert_eq!(lab.states.0, Some(TcpState::Listen));
    }
    // accept() with nobody connecting would block: it says so instead.
    let ev = lab.step(Step::ServerAccept);
    assert!(
        ev.iter().any(|e| matches!(
            e,
            StepEvent::WouldBlock {
                step: Step::ServerAccept
            }
        )),
        "{ev:#?}"
    );
    lab.step(Step::ClientSocket);
    let ev = lab.step(Step::ClientConnect);
    assert!(
        matches!(outcome(&ev), Some(CallOutcome::Connected { .. })),
        "{ev:#?}"
    );
    assert_eq!(lab.stages.1, ClientStage::Connected);
    let ev = lab.step(Step::ServerAccept);
    assert!(
        matches!(outcome(&ev), Some(CallOutcome::Accepted { .. })),
        "{ev:#?}"
    );
    if linux() {
        assert_eq!(
            lab.states,
            (Some(TcpState::Established), Some(TcpState::Established))
        );
    }
    let ev = lab.step(Step::ClientSend);
    assert!(matches!(outcome(&ev), Some(CallOutcome::Bytes(n)) if n > 0));
    let ev = lab.step(Step::ServerRecv);
    assert!(
        matches!(outcome(&ev), Some(CallOutcome::Bytes(n)) if n > 0),
        "{ev:#?}"
    );
    // Half-close: the client can still receive.
    lab.step(Step::ClientShutdown);
    assert_eq!(lab.stages.1, ClientStage::HalfClosed);
    assert!(!legal(Step::ClientSend, lab.stages.0, lab.stages.1));
    if linux() {
        lab.wait_state(Side::Client, TcpState::FinWait2);
        lab.wait_state(Side::Server, TcpState::CloseWait);
    }
    let ev = lab.step(Step::ServerRecv);
    assert_eq!(
        outcome(&ev),
        Some(CallOutcome::Bytes(0)),
        "recv() → 0 after the FIN"
    );
    lab.step(Step::ServerSend);
    let ev = lab.step(Step::ClientRecv);
    assert!(
        matches!(outcome(&ev), Some(CallOutcome::Bytes(n)) if n > 0),
        "{ev:#?}"
    );
    lab.step(Step::ServerClose);
    lab.step(Step::ClientClose);
    if linux() {
        // The client closed (its direction) first: it ends in TIME_WAIT.
        lab.wait_state(Side::Client, TcpState::TimeWait);
    }
    assert_eq!(lab.stages, (ServerStage::Listening, ClientStage::None));
}
