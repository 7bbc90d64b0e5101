//! The panels' background jobs: saving a log, exporting a diagram, asking a server for its
//! file names. Each runs on a thread of its own, so the UI thread never waits on a disk or a
//! socket; its result comes back on a channel and asks for a frame. Failures come back as a
//! [`NetError`], said in plain words in the chosen language by `describe_error` (a full
//! disk is "the disk is full", not the OS's English), and a job that cannot even start says
//! so instead of vanishing.

use std::path::{Path, PathBuf};

use flume::Receiver;

use crate::net::NetError;

/// A job under way, or finished and not yet looked at.
pub struct Job<T> {
    rx: Receiver<T>,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a thread named `name`; `ctx` is asked for a frame when it is done.
    /// `Err` when no thread could be started (said in plain words).
    pub fn start(
        name: &str,
        ctx: Option<egui::Context>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<Self, NetError> {
        let (tx, rx) = flume::bounded(1);
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let _ = tx.send(work());
                if let Some(ctx) = ctx {
                    ctx.request_repaint();
                }
            })
            .map_err(|e| NetError::from_io(&e))?;
        Ok(Self { rx })
    }

    /// The result, once it is there (taken once). A job whose thread died says nothing.
    pub fn poll(&self) -> Option<Result<T, Gone>> {
        match self.rx.try_recv() {
            Ok(v) => Some(Ok(v)),
            Err(flume::TryRecvError::Empty) => None,
            Err(flume::TryRecvError::Disconnected) => Some(Err(Gone)),
        }
    }
}

/// Starts a job for a panel that keeps one line of what happened: when no thread can be
/// started, that line says why (in `lang`) and there is no job.
pub fn start_or_say<T: Send + 'static>(
    name: &str,
    ctx: egui::Context,
    lang: crate::i18n::Lang,
    said: &mut Option<(bool, String)>,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<Job<T>> {
    match Job::start(name, Some(ctx), work) {
        Ok(job) => Some(job),
        Err(e) => {
            *said = Some((true, crate::i18n::describe_error(lang, &e)));
            None
        }
    }
}

/// The job's thread ended without a result (it panicked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// What a job that writes a file gives back: where it wrote, or why it could not.
pub type Written = Result<PathBuf, NetError>;

/// Writes a file with `write`, classifying a failure as a file error of `path` (a full disk
/// is said as such).
pub fn write_file(path: &Path, write: impl FnOnce(&Path) -> std::io::Result<()>) -> Written {
    write(path)
        .map(|()| path.to_path_buf())
        .map_err(|e| NetError::file_write(path, &e))
}

/// A panel's exports: the path typed, the file write or screenshot under way (off the UI
/// thread), and how the last one went.
pub struct Exports {
    pub path: String,
    job: Option<Job<Written>>,
    shot: Option<Receiver<Written>>,
    result: Option<Written>,
}

impl Exports {
    pub fn new(path: String) -> Self {
        Self {
            path,
            job: None,
            shot: None,
            result: None,
        }
    }

    /// An export is under way (its buttons wait).
    pub fn busy(&self) -> bool {
        self.job.is_some() || self.shot.is_some()
    }

    /// The path typed, trimmed.
    pub fn target(&self) -> PathBuf {
        PathBuf::from(self.path.trim())
    }

    /// Writes `data` to `path` on a thread of its own.
    pub fn write(&mut self, ctx: &egui::Context, name: &str, path: PathBuf, data: Vec<u8>) {
        match Job::start(name, Some(ctx.clone()), move || {
            write_file(&path, |p| std::fs::write(p, &data))
        }) {
            Ok(job) => {
                self.job = Some(job);
                self.result = None;
            }
            Err(e) => self.result = Some(Err(e)),
        }
    }

    /// Saves what `rect` shows as a PNG at `path` (the next frame's screenshot).
    pub fn screenshot(&mut self, ctx: &egui::Context, rect: egui::Rect, path: PathBuf) {
        self.shot = Some(screenshot_png(ctx, rect, path));
        self.result = None;
    }

    /// Takes in how a write or screenshot ended.
    pub fn poll(&mut self) {
        if let Some(job) = &self.job
            && let Some(r) = job.poll()
        {
            self.job = None;
            if let Ok(r) = r {
                self.result = Some(r);
            }
        }
        if let Some(rx) = &self.shot {
            match rx.try_recv() {
                Ok(r) => {
                    self.result = Some(r);
                    self.shot = None;
                }
                Err(flume::TryRecvError::Disconnected) => self.shot = None,
                Err(flume::TryRecvError::Empty) => {}
            }
        }
    }

    /// The path field.
    pub fn path_ui(&mut self, ui: &mut egui::Ui, lang: crate::i18n::Lang, width: f32) {
        let label = ui.label(lang.t(crate::i18n::Msg::LessonExportPath)).id;
        ui.add(egui::TextEdit::singleline(&mut self.path).desired_width(width))
            .labelled_by(label);
    }

    /// A diagram's two buttons: SVG (`svg` makes it, written to `svg_path`) and PNG (what
    /// `rect` shows, at the path with `.png`).
    pub fn diagram_buttons_ui(
        &mut self,
        ui: &mut egui::Ui,
        lang: crate::i18n::Lang,
        (svg_path, svg): (PathBuf, impl FnOnce() -> String),
        rect: Option<egui::Rect>,
    ) {
        use crate::i18n::Msg;
        let busy = self.busy();
        if ui
            .add_enabled(!busy, egui::Button::new(lang.t(Msg::LessonExportSvg)))
            .clicked()
        {
            self.write(ui.ctx(), "export-svg", svg_path, svg().into_bytes());
        }
        if ui
            .add_enabled(
                !busy && rect.is_some(),
                egui::Button::new(lang.t(Msg::LessonExportPng)),
            )
            .on_hover_text(lang.t(Msg::LessonExportPngHint))
            .clicked()
            && let Some(rect) = rect
        {
            let path = self.target().with_extension("png");
            self.screenshot(ui.ctx(), rect, path);
        }
    }

    /// How the last export went.
    pub fn result_ui(&self, ui: &mut egui::Ui, lang: crate::i18n::Lang) {
        export_result_ui(ui, lang, self.result.as_ref());
    }
}

/// An export's outcome under its buttons: where it was saved, or why not, in plain words.
pub fn export_result_ui(ui: &mut egui::Ui, lang: crate::i18n::Lang, result: Option<&Written>) {
    use crate::i18n::{Msg, describe_error};
    match result {
        Some(Ok(p)) => {
            ui.label(lang.fmt(Msg::LessonExported, &[("path", &p.display())]));
        }
        Some(Err(e)) => {
            ui.colored_label(
                ui.visuals().error_fg_color,
                lang.fmt(
                    Msg::LessonExportFailed,
                    &[("err", &describe_error(lang, e))],
                ),
            );
        }
        None => {}
    }
}

/// Asks for a screenshot of the window; when it comes (after this frame is drawn) the part
/// in `rect` is written to `path` as PNG off the UI thread. The result arrives on the
/// receiver.
pub fn screenshot_png(ctx: &egui::Context, rect: egui::Rect, path: PathBuf) -> Receiver<Written> {
    let (tx, rx) = flume::bounded(1);
    let ppp = ctx.pixels_per_point();
    let repaint = ctx.clone();
    let callback = egui::ScreenshotCallback::new(move |image| {
        let started = Job::start("export-png", Some(repaint), {
            let tx = tx.clone();
            move || {
                let cropped = image.region(&rect, Some(ppp));
                let _ = tx.send(write_file(&path, |p| write_png(p, &cropped)));
            }
        });
        // No thread: say so, rather than leave the export spinning.
        if let Err(e) = started {
            let _ = tx.send(Err(e));
        }
    });
    ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(callback));
    rx
}

pub fn write_png(path: &std::path::Path, image: &egui::ColorImage) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let [w, h] = image.size;
    let mut encoder = png::Encoder::new(file, w as u32, h as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    let data: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    writer
        .write_image_data(&data)
        .map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Lang, describe_error};
    use crate::net::NetErrorKind;

    /// A write that fails comes back as a file error in plain words, in either language,
    /// not the OS's English text alone; and the job's result arrives.
    #[test]
    fn a_failed_write_is_said_in_plain_words() {
        let path = std::env::temp_dir()
            .join(format!("swb-jobs-{}", std::process::id()))
            .join("no such folder")
            .join("log.txt");
        let job = Job::start("test-write", None, move || {
            write_file(&path, |p| std::fs::write(p, b"x"))
        })
        .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let result = loop {
            if let Some(r) = job.poll() {
                break r.unwrap();
            }
            assert!(std::time::Instant::now() < deadline, "no result");
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        let err = result.unwrap_err();
        assert_eq!(err.kind, NetErrorKind::FileWrite);
        assert!(err.detail.contains("log.txt"), "{}", err.detail);
        let zh = describe_error(Lang::Zh, &err);
        assert!(zh.starts_with("无法写入文件"), "{zh}");
    }
}
