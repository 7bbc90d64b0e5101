//! What every panel that runs an engine does the same way: take in the engine's events
//! within a time budget each frame (a flood must not make a frame late), and say whether
//! some are left for the next frame; the channel, the back-pressure count and the waker each
//! such panel holds ([`Link`]).

use std::time::{Duration, Instant};

use flume::{Receiver, Sender};

use crate::model::files::{DownloadsModel, FileServerModel};
use crate::model::{ClientModel, ServerModel, UdpModel};
use crate::net::download::DownloadEvent;
use crate::net::file_server::FileServerEvent;
use crate::net::flow::Unread;
use crate::net::tcp_client::ClientEvent;
use crate::net::tcp_server::ServerEvent;
use crate::net::udp::UdpEvent;
use crate::net::{Tagged, Waker};

/// The engine stops reading while this many received bytes wait to be applied, so a
/// flood slows its senders (TCP back-pressure) instead of filling memory.
pub const UNREAD_LIMIT: usize = 8 * 1024 * 1024;

/// Time a frame may spend applying one panel's events.
pub const DRAIN_BUDGET: Duration = Duration::from_millis(4);

/// Applies the events that have arrived, for at most [`DRAIN_BUDGET`]; `true` when some are
/// left (the caller asks for another frame: nothing else may wake it, since an engine held
/// back by [`crate::net::flow`] sends nothing until they are taken in).
pub fn drain<M>(rx: &Receiver<M>, mut apply: impl FnMut(M)) -> bool {
    let start = Instant::now();
    let mut i = 0u32;
    while let Ok(msg) = rx.try_recv() {
        apply(msg);
        i += 1;
        if i.is_multiple_of(64) && start.elapsed() >= DRAIN_BUDGET {
            return !rx.is_empty();
        }
    }
    false
}

/// Waits up to `timeout` for one event, then applies it and what else has arrived (tests
/// and the command line, which have no frames); `false` if nothing came in time.
pub fn wait<M>(rx: &Receiver<M>, timeout: Duration, mut apply: impl FnMut(M)) -> bool {
    match rx.recv_timeout(timeout) {
        Ok(msg) => {
            apply(msg);
            while let Ok(msg) = rx.try_recv() {
                apply(msg);
            }
            true
        }
        Err(_) => false,
    }
}

/// A model an engine's events are applied to.
pub trait Reduce {
    type Event;
    fn apply(&mut self, msg: Tagged<Self::Event>);
    /// The bytes a received-data event carries: counted back to the engine's back-pressure
    /// ([`Unread`]) once applied. `None` for other events, and for engines
    /// without that back-pressure.
    fn received(_event: &Self::Event) -> Option<usize> {
        None
    }
}

/// A panel's end of its engines' events: the channel they send on, the count of received
/// bytes not yet applied (the engine's back-pressure), whether the last frame left some
/// events, and the waker that asks egui for a frame. Written once for every panel that runs
/// an engine.
pub struct Link<E> {
    tx: Sender<Tagged<E>>,
    rx: Receiver<Tagged<E>>,
    unread: Unread,
    /// Events were left for the next frame: ask for one.
    pub behind: bool,
    waker: Option<Waker>,
}

impl<E> Default for Link<E> {
    fn default() -> Self {
        let (tx, rx) = flume::unbounded();
        Self {
            tx,
            rx,
            unread: Default::default(),
            behind: false,
            waker: None,
        }
    }
}

impl<E> Link<E> {
    /// Where a new session sends its events.
    pub fn sender(&self) -> Sender<Tagged<E>> {
        self.tx.clone()
    }

    /// A fresh back-pressure count for a new session: what an old one left unapplied does
    /// not hold it back.
    pub fn fresh_unread(&mut self) -> Unread {
        self.unread = Default::default();
        self.unread.clone()
    }

    /// The waker that asks this window for a frame (made once).
    pub fn waker(&mut self, ctx: &egui::Context) -> Waker {
        self.waker
            .get_or_insert_with(|| super::widgets::ui_waker(ctx))
            .clone()
    }

    fn apply<M: Reduce<Event = E>>(unread: &Unread, model: &mut M, msg: Tagged<E>) {
        if let Some(n) = M::received(&msg.event) {
            unread.taken(n);
        }
        model.apply(msg);
    }

    /// Applies what has arrived, within [`DRAIN_BUDGET`] (see [`drain`]).
    pub fn drain<M: Reduce<Event = E>>(&mut self, model: &mut M) {
        let unread = &self.unread;
        self.behind = drain(&self.rx, |msg| Self::apply(unread, model, msg));
    }

    /// Waits up to `timeout` for one event, then applies everything that has arrived (tests
    /// and the command line; the window never waits). False if nothing came in time.
    pub fn wait<M: Reduce<Event = E>>(&mut self, model: &mut M, timeout: Duration) -> bool {
        let unread = &self.unread;
        let got = wait(&self.rx, timeout, |msg| Self::apply(unread, model, msg));
        self.drain(model);
        got
    }
}

impl Reduce for ClientModel {
    type Event = ClientEvent;
    fn apply(&mut self, msg: Tagged<ClientEvent>) {
        ClientModel::apply(self, msg);
    }
    fn received(event: &ClientEvent) -> Option<usize> {
        match event {
            ClientEvent::Received { data, .. } => Some(data.len()),
            _ => None,
        }
    }
}

impl Reduce for ServerModel {
    type Event = ServerEvent;
    fn apply(&mut self, msg: Tagged<ServerEvent>) {
        ServerModel::apply(self, msg);
    }
    fn received(event: &ServerEvent) -> Option<usize> {
        match event {
            ServerEvent::Received { data, .. } => Some(data.len()),
            _ => None,
        }
    }
}

impl Reduce for UdpModel {
    type Event = UdpEvent;
    fn apply(&mut self, msg: Tagged<UdpEvent>) {
        UdpModel::apply(self, msg);
    }
    fn received(event: &UdpEvent) -> Option<usize> {
        match event {
            UdpEvent::Received { data, .. } => Some(data.len()),
            _ => None,
        }
    }
}

impl Reduce for FileServerModel {
    type Event = FileServerEvent;
    fn apply(&mut self, msg: Tagged<FileServerEvent>) {
        FileServerModel::apply(self, msg);
    }
}

impl Reduce for DownloadsModel {
    type Event = DownloadEvent;
    fn apply(&mut self, msg: Tagged<DownloadEvent>) {
        DownloadsModel::apply(self, msg);
    }
}
