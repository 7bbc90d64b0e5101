//! The live sequence diagram of the client and server panels: one connection's calls from
//! the panel's own trace, and — when the other end is this program's other panel — that
//! panel's calls too, so both lanes are known. Otherwise the other lane is the "peer".

use std::net::SocketAddr;

use egui::Ui;

use crate::i18n::{Lang, Msg};
use crate::model::diagram::{Diagram, Lane, LaneCall, build};
use crate::model::{ServerModel, trace_book::TraceBook};
use crate::net::tcp_server::ClientId;
use crate::net::{CallKind, CallOutcome, SocketCall};

/// The client's calls of its latest connection attempt (from its last `getaddrinfo()` or
/// `socket()` on).
pub fn client_session(trace: &TraceBook) -> Vec<SocketCall> {
    let calls = trace.calls();
    let start = calls
        .iter()
        .rposition(|c| matches!(c.kind, CallKind::Socket { .. }))
        .map(|i| {
            // Keep the name lookup that came just before it.
            if i > 0 && matches!(calls[i - 1].kind, CallKind::Resolve { .. }) {
                i - 1
            } else {
                i
            }
        })
        .unwrap_or(0);
    calls.iter().skip(start).cloned().collect()
}

/// The client's local address, as its `connect()` reported it.
pub fn client_local(calls: &[SocketCall]) -> Option<SocketAddr> {
    calls.iter().rev().find_map(|c| match c.outcome {
        CallOutcome::Connected { local } => Some(local),
        _ => None,
    })
}

/// The server's calls for one client's connection, with the listener's own (socket, bind,
/// listen) before them.
pub fn server_connection(model: &ServerModel, id: ClientId) -> Vec<SocketCall> {
    model
        .trace
        .calls()
        .iter()
        .filter(|c| c.conn == Some(id) || (c.conn.is_none() && listener_setup(&c.kind)))
        .cloned()
        .collect()
}

fn listener_setup(kind: &CallKind) -> bool {
    matches!(
        kind,
        CallKind::Socket { .. }
            | CallKind::Bind { .. }
            | CallKind::Listen { .. }
            | CallKind::SetOption { .. }
    )
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

/// A diagram rebuilt only when its calls change.
#[derive(Default)]
pub struct Cached {
    key: Option<(
        usize,
        usize,
        Option<std::time::SystemTime>,
        Option<std::time::SystemTime>,
    )>,
    diagram: Option<Diagram>,
}

impl Cached {
    pub fn get(
        &mut self,
        client: Option<Vec<SocketCall>>,
        server: Option<Vec<SocketCall>>,
    ) -> &Diagram {
        let key = (
            client.as_ref().map_or(usize::MAX, Vec::len),
            server.as_ref().map_or(usize::MAX, Vec::len),
            client.as_ref().and_then(|c| c.last()).map(|c| c.at),
            server.as_ref().and_then(|c| c.last()).map(|c| c.at),
        );
        if self.key != Some(key) || self.diagram.is_none() {
            self.key = Some(key);
            self.diagram = Some(diagram(client, server));
        }
        self.diagram.get_or_insert_with(|| build(&[], [true, true]))
    }
}

/// "Socket calls | Diagram" at the top of a panel's side panel.
pub fn switch_ui(ui: &mut Ui, lang: Lang, diagram: &mut bool) {
    ui.horizontal(|ui| {
        ui.selectable_value(diagram, false, lang.t(Msg::ViewCalls));
        ui.selectable_value(diagram, true, lang.t(Msg::ViewDiagram));
    });
    ui.separator();
}
