//! What the server sends on its own initiative: to which clients, a repeat run and a file.

use std::sync::atomic::Ordering;

use super::*;

impl Server {
    pub(super) fn targets(&self, to: &Target) -> Vec<ClientId> {
        match to {
            Target::All => {
                let mut ids: Vec<ClientId> = self.conns.keys().copied().collect();
                ids.sort_unstable();
                ids
            }
            Target::Clients(ids) => ids
                .iter()
                .copied()
                .filter(|id| self.conns.contains_key(id))
                .collect(),
        }
    }

    pub(super) fn send_to(&mut self, to: &Target, bytes: Arc<[u8]>, origin: SendOrigin) {
        for id in self.targets(to) {
            self.queue(id, bytes.clone(), origin.clone());
        }
    }

    /// Sends to the targets on every loop (from the first: a typed send, a repeat's turn).
    pub(super) fn deliver(&mut self, to: &Target, bytes: Arc<[u8]>, origin: SendOrigin) {
        self.tell_workers(|| LoopMsg::Deliver {
            to: to.clone(),
            bytes: bytes.clone(),
            origin: origin.clone(),
        });
        self.send_to(to, bytes, origin);
    }

    pub(super) fn stop_repeat(&mut self) {
        if let Some(run) = self.repeat.take() {
            self.emitter.emit(ServerEvent::Progress(run.stopped()));
        }
    }

    pub(super) fn start_file(&mut self, to: &Target, path: PathBuf) {
        self.finish_file();
        match FileSource::open(path) {
            Ok(source) => {
                self.file = Some(source);
                // Every loop marks its targets before the first chunk is read.
                let loops = self.workers.len();
                self.shared.file_waiting.store(loops, Ordering::Release);
                let heard = self.tell_workers(|| LoopMsg::FileStart { to: to.clone() });
                self.shared
                    .file_waiting
                    .fetch_sub(loops - heard, Ordering::AcqRel);
                self.mark_file(to);
                self.pump_file();
            }
            Err(err) => self.emitter.emit(ServerEvent::Warning(err)),
        }
    }

    /// Feeds the next chunks of a file to its targets while their queues are short: every
    /// target, on every loop, has room for a chunk, and every loop has queued the last one.
    pub(super) fn pump_file(&mut self) {
        loop {
            let Some(source) = &mut self.file else { return };
            let shared = &self.shared;
            if shared.file_waiting.load(Ordering::Acquire) > 0
                || shared.file_inflight.load(Ordering::Acquire) > 0
            {
                return;
            }
            if shared.file_targets.load(Ordering::Acquire) == 0 {
                self.finish_file();
                return;
            }
            if shared.file_full.load(Ordering::Acquire) > 0 {
                return;
            }
            let mut chunk = vec![0u8; RECV_BUFFER];
            let n = match source.read(&mut chunk) {
                Ok(0) => {
                    self.finish_file();
                    return;
                }
                Ok(n) => n,
                Err(err) => {
                    self.emitter.emit(ServerEvent::Warning(err));
                    self.finish_file();
                    return;
                }
            };
            chunk.truncate(n);
            let origin = source.origin(false);
            if let Some(progress) = source.count(n) {
                self.emitter.emit(ServerEvent::Progress(progress));
            }
            let bytes: Arc<[u8]> = chunk.into();
            let loops = self.workers.len();
            if loops > 0 {
                self.shared.file_inflight.store(loops, Ordering::Release);
                let heard = self.tell_workers(|| LoopMsg::FileChunk {
                    bytes: bytes.clone(),
                    origin: origin.clone(),
                });
                self.shared
                    .file_inflight
                    .fetch_sub(loops - heard, Ordering::AcqRel);
            }
            self.feed_file(bytes, origin);
        }
    }

    pub(super) fn finish_file(&mut self) {
        if let Some(source) = self.file.take() {
            self.emitter
                .emit(ServerEvent::Progress(source.progress(true)));
            self.tell_workers(|| LoopMsg::FileEnd);
            self.unmark_file();
        }
    }
}
