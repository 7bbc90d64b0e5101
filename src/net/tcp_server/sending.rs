//! What the server sends on its own initiative: to which clients, a repeat run and a file.

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

    pub(super) fn stop_repeat(&mut self) {
        if let Some(run) = self.repeat.take() {
            self.emitter.emit(ServerEvent::Progress(run.stopped()));
        }
    }

    pub(super) fn start_file(&mut self, to: &Target, path: PathBuf) {
        self.finish_file();
        match FileSource::open(path) {
            Ok(source) => {
                self.file = Some(FileJob {
                    source,
                    targets: self.targets(to),
                });
                self.pump_file();
            }
            Err(err) => self.emitter.emit(ServerEvent::Warning(err)),
        }
    }

    /// Feeds the next chunks of a file to its targets while their queues are short.
    pub(super) fn pump_file(&mut self) {
        loop {
            let Some(job) = &mut self.file else { return };
            job.targets.retain(|id| self.conns.contains_key(id));
            if job.targets.is_empty() {
                self.finish_file();
                return;
            }
            let ready = job
                .targets
                .iter()
                .all(|id| self.conns.get(id).is_some_and(|c| c.queued < FILE_FEED));
            if !ready {
                return;
            }
            let mut chunk = vec![0u8; RECV_BUFFER];
            let n = match job.source.read(&mut chunk) {
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
            let origin = job.source.origin(false);
            let targets = job.targets.clone();
            if let Some(progress) = job.source.count(n) {
                self.emitter.emit(ServerEvent::Progress(progress));
            }
            let bytes: Arc<[u8]> = chunk.into();
            for id in targets {
                self.queue(id, bytes.clone(), origin.clone());
            }
        }
    }

    pub(super) fn finish_file(&mut self) {
        if let Some(job) = self.file.take() {
            self.emitter
                .emit(ServerEvent::Progress(job.source.progress(true)));
        }
    }
}
