//! The live sequence diagram of the client and server panels: one connection's calls from
//! the panel's own trace, and — when the other end is this program's other panel — that
//! panel's calls too, so both lanes are known. Otherwise the other lane is the "peer".
//!
//! A diagram is rebuilt only when one of the traces it is drawn from has changed (a cheap
//! version of each is compared every frame; nothing is copied while they stay the same),
//! and a busy connection gives it at most [`MAX_LANE_CALLS`] calls per lane: the first ones
//! (the handshake) and the latest.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::time::SystemTime;

use egui::Ui;

use crate::i18n::{Lang, Msg};
use crate::model::diagram::{Diagram, Lane, LaneCall, build};
use crate::model::{ServerModel, trace_book::TraceBook};
use crate::net::tcp_server::ClientId;
use crate::net::{CallKind, CallOutcome, SocketCall};

/// Calls per lane given to the diagram at most.
pub const MAX_LANE_CALLS: usize = 2_000;
/// Of those, the first ones kept (socket, connect or accept, the first data).
const HEAD_CALLS: usize = 16;

/// Changes whenever a call is added to the trace (or it is cleared and refilled).
fn trace_version(t: &TraceBook) -> (usize, u64, Option<SystemTime>) {
    (t.calls().len(), t.dropped, t.calls().back().map(|c| c.at))
}

/// Where the client's latest connection attempt starts in its trace (its last `socket()`,
/// with the name lookup just before it).
fn client_session_start(trace: &TraceBook) -> usize {
    let calls = trace.calls();
    calls
        .iter()
        .rposition(|c| matches!(c.kind, CallKind::Socket { .. }))
        .map(|i| {
            if i > 0 && matches!(calls[i - 1].kind, CallKind::Resolve { .. }) {
                i - 1
            } else {
                i
            }
        })
        .unwrap_or(0)
}

/// The client's calls of its latest connection attempt.
pub fn client_session(trace: &TraceBook) -> Vec<SocketCall> {
    bounded(
        trace
            .calls()
            .iter()
            .skip(client_session_start(trace))
            .cloned()
            .collect(),
    )
}

/// The client's local address in its latest connection, as its `connect()` reported it.
pub fn client_local(trace: &TraceBook) -> Option<SocketAddr> {
    trace
        .calls()
        .iter()
        .skip(client_session_start(trace))
        .rev()
        .find_map(|c| match c.outcome {
            CallOutcome::Connected { local } => Some(local),
            _ => None,
        })
}

/// The server's calls for one client's connection, with the listener's own (socket, bind,
/// listen) before them.
pub fn server_connection(model: &ServerModel, id: ClientId) -> Vec<SocketCall> {
    bounded(
        model
            .trace
            .calls()
            .iter()
            .filter(|c| c.conn == Some(id) || (c.conn.is_none() && listener_setup(&c.kind)))
            .cloned()
            .collect(),
    )
}

fn listener_setup(kind: &CallKind) -> bool {
    matches!(
        kind,
        CallKind::Socket { .. }
            | CallKind::Bind { .. }
            | CallKind::Listen { .. }
            | CallKind::SetOption { .. }
            | CallKind::KernelState(_)
    )
}

/// The first calls and the latest, at most [`MAX_LANE_CALLS`] in all.
fn bounded(mut calls: Vec<SocketCall>) -> Vec<SocketCall> {
    if calls.len() > MAX_LANE_CALLS {
        calls.drain(HEAD_CALLS..calls.len() - (MAX_LANE_CALLS - HEAD_CALLS));
    }
    calls
}

/// The server's client whose address is `peer` (the newest, if the port was reused).
pub fn server_client_at(model: &ServerModel, peer: SocketAddr) -> Option<ClientId> {
    model
        .clients
        .values()
        .rev()
        .find(|r| r.peer == peer)
        .map(|r| r.id)
}

/// Merges the two lanes' calls in time order and draws the diagram.
pub fn diagram(client: Option<Vec<SocketCall>>, server: Option<Vec<SocketCall>>) -> Diagram {
    let known = [client.is_some(), server.is_some()];
    let mut calls: Vec<LaneCall> = client
        .into_iter()
        .flatten()
        .map(|call| LaneCall {
            lane: Lane::Client,
            call,
        })
        .chain(server.into_iter().flatten().map(|call| LaneCall {
            lane: Lane::Server,
            call,
        }))
        .collect();
    calls.sort_by_key(|c| c.call.at);
    build(&calls, known)
}

/// A diagram rebuilt only when what it is drawn from changes.
#[derive(Default)]
pub struct Cached {
    key: Option<u64>,
    diagram: Option<Diagram>,
    /// Refreshed since the panel last drew it (by the app, which can see both panels).
    fresh: bool,
}

impl Cached {
    fn refresh(&mut self, key: impl Hash, build: impl FnOnce() -> Diagram) {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        let key = h.finish();
        if self.key != Some(key) || self.diagram.is_none() {
            self.key = Some(key);
            self.diagram = Some(build());
        }
        self.fresh = true;
    }

    /// The client panel's diagram; `server` is this program's server panel, whose calls fill
    /// in the server's lane when the client is connected to it.
    pub fn refresh_client(&mut self, client: &TraceBook, server: Option<&ServerModel>) {
        let linked = client_local(client).and_then(|local| {
            let server = server?;
            server_client_at(server, local).map(|id| (server, id))
        });
        let key = (
            trace_version(client),
            linked.map(|(s, id)| (id, trace_version(&s.trace))),
        );
        self.refresh(key, || {
            diagram(
                Some(client_session(client)),
                linked.map(|(s, id)| server_connection(s, id)),
            )
        });
    }

    /// The server panel's diagram of client `id`; `client` is this program's client panel's
    /// trace, which fills in the client's lane when that client is this program.
    pub fn refresh_server(
        &mut self,
        server: &ServerModel,
        id: ClientId,
        client: Option<&TraceBook>,
    ) {
        let peer = server.clients.get(&id).map(|r| r.peer);
        let linked = client.filter(|t| peer.is_some() && client_local(t) == peer);
        let key = (id, trace_version(&server.trace), linked.map(trace_version));
        self.refresh(key, || {
            diagram(
                linked.map(client_session),
                Some(server_connection(server, id)),
            )
        });
    }

    /// Whether something refreshed it since the last call (the panel refreshes it itself,
    /// with no peer, when the app did not).
    pub fn take_fresh(&mut self) -> bool {
        std::mem::take(&mut self.fresh)
    }

    pub fn current(&self) -> Option<&Diagram> {
        self.diagram.as_ref()
    }
}

/// "List | Diagram" at the top of a panel's side panel.
pub fn switch_ui(ui: &mut Ui, lang: Lang, diagram: &mut bool) {
    ui.horizontal(|ui| {
        ui.selectable_value(diagram, false, lang.t(Msg::ViewCalls));
        ui.selectable_value(diagram, true, lang.t(Msg::ViewDiagram));
    });
    ui.separator();
}
