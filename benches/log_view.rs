//! Frame time of the log view, with the log at its entry cap and empty.
//!
//! Run with `cargo bench --bench log_view`. A plain binary (`harness = false`): it measures
//! and prints, it never asserts on timing.
//!
//! Each frame is `Context::run_ui` (the log view inside a `CentralPanel`, on a headless
//! 1280x800 screen) plus `Context::tessellate`: the CPU work of a frame short of the GPU
//! upload. Before each measured frame 100 entries are appended (a flood), so the line index
//! is updated incrementally; the appending itself is not timed.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{Pos2, RawInput, Rect, vec2};
use socket_workbench::i18n::Lang;
use socket_workbench::model::log::MAX_ENTRIES;
use socket_workbench::model::{Direction, LogBook, LogNote};
use socket_workbench::proto::TextEncoding;
use socket_workbench::ui::log_view::{LogView, LogViewSettings, ViewMode};

mod common;
use common::percentile;

/// Entries pushed to build the "at cap" log (more than the cap, so old ones are dropped).
const FILL: u64 = 150_000;
/// Measured frames per scenario.
const FRAMES: usize = 200;
/// Entries appended before every measured frame.
const PER_FRAME: u64 = 100;
const FRAME_DT: f64 = 1.0 / 60.0;

/// The `i`th entry of a deterministic mix: ASCII requests and replies, GBK Chinese,
/// invalid bytes and control characters, multi-line messages and a few connection events.
fn push_entry(book: &mut LogBook, i: u64) {
    if i.is_multiple_of(997) {
        book.push_note(
            std::time::SystemTime::now(),
            Direction::Info,
            LogNote::PeerClosed,
        );
        return;
    }
    let gbk = |s: &str| {
        TextEncoding::Gbk
            .encode(s)
            .expect("the sample text is GBK-encodable")
    };
    let (dir, data): (Direction, Vec<u8>) = match i % 10 {
        0..=2 => (
            Direction::Tx,
            format!("GET /api/item/{i} HTTP/1.1\r\n").into_bytes(),
        ),
        3 | 4 => (Direction::Rx, gbk(&format!("温度 {i}：二十三度，正常\n"))),
        5 => {
            let mut v = vec![0xFF, 0xFE];
            v.extend_from_slice(format!("{i}").as_bytes());
            v.extend_from_slice(&[0x00, 0x01, 0x80, 0x81]);
            v.extend_from_slice(b" bad\n");
            (Direction::Rx, v)
        }
        6 => (
            Direction::Rx,
            format!("line one {i}\nline two\nline three\n").into_bytes(),
        ),
        7 | 8 => (Direction::Rx, format!("OK {i}\tvalue=42\r\n").into_bytes()),
        _ => (Direction::Tx, gbk(&format!("你好，服务器 {i}"))),
    };
    let len = data.len() as u64;
    book.push_data(
        std::time::SystemTime::now(),
        dir,
        Arc::from(data),
        len,
        None,
    );
}

struct Bench {
    ctx: egui::Context,
    view: LogView,
    settings: LogViewSettings,
    book: LogBook,
    next: u64,
    time: f64,
}

impl Bench {
    fn new(mode: ViewMode, encoding: TextEncoding, at_cap: bool) -> Self {
        let mut book = LogBook::default();
        let mut next = 0;
        if at_cap {
            while next < FILL {
                push_entry(&mut book, next);
                next += 1;
            }
        }
        let ctx = egui::Context::default();
        socket_workbench::fonts::install(&ctx);
        let mut bench = Self {
            ctx,
            view: LogView::default(),
            settings: LogViewSettings {
                mode,
                encoding,
                ..LogViewSettings::default()
            },
            book,
            next,
            time: 0.0,
        };
        // Load the fonts (egui builds them lazily on the first pass), so the measured first
        // frame is the log view's first frame, not the context's.
        for _ in 0..2 {
            let input = bench.input();
            let out = bench.ctx.run_ui(input, |ui| {
                egui::CentralPanel::default().show(ui, |ui| {
                    ui.label("warm-up 预热");
                    ui.monospace("warm-up 预热");
                });
            });
            black_box(bench.ctx.tessellate(out.shapes, out.pixels_per_point));
        }
        bench
    }

    fn input(&mut self) -> RawInput {
        self.time += FRAME_DT;
        RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1280.0, 800.0))),
            time: Some(self.time),
            ..RawInput::default()
        }
    }

    fn append(&mut self, n: u64) {
        for _ in 0..n {
            push_entry(&mut self.book, self.next);
            self.next += 1;
        }
    }

    /// One frame: UI pass plus tessellation. Returns its duration and the number of
    /// vertices tessellated (to show the frame really drew the rows).
    fn frame(&mut self) -> (Duration, usize) {
        let input = self.input();
        let Self {
            ctx,
            view,
            settings,
            book,
            ..
        } = self;
        let start = Instant::now();
        let out = ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                black_box(view.ui(ui, Lang::En, settings, book, None));
            });
        });
        let primitives = ctx.tessellate(out.shapes, out.pixels_per_point);
        let elapsed = start.elapsed();
        let vertices = primitives
            .iter()
            .map(|p| match &p.primitive {
                egui::epaint::Primitive::Mesh(mesh) => mesh.vertices.len(),
                egui::epaint::Primitive::Callback(_) => 0,
            })
            .sum();
        (elapsed, vertices)
    }
}

struct Row {
    name: String,
    start_entries: usize,
    first: Duration,
    median: Duration,
    p99: Duration,
    max: Duration,
    end_entries: usize,
    dropped: u64,
    /// Vertices of the last measured frame.
    vertices: usize,
}

fn measure(bench: &mut Bench, name: String) -> Row {
    let start_entries = bench.book.len();
    let (first, _) = bench.frame();
    let mut times = Vec::with_capacity(FRAMES);
    let mut vertices = 0;
    for _ in 0..FRAMES {
        bench.append(PER_FRAME);
        let (t, v) = bench.frame();
        times.push(t);
        vertices = v;
    }
    times.sort();
    Row {
        name,
        start_entries,
        first,
        median: percentile(&times, 50.0),
        p99: percentile(&times, 99.0),
        max: *times.last().expect("FRAMES > 0"),
        end_entries: bench.book.len(),
        dropped: bench.book.dropped,
        vertices,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn mode_name(mode: ViewMode, encoding: TextEncoding) -> String {
    match mode {
        ViewMode::Text => format!("Text ({})", encoding.label()),
        ViewMode::Hex => "Hex".to_owned(),
    }
}

fn main() {
    println!("log_view bench: LogView::ui in a CentralPanel, 1280x800, pixels_per_point 1");
    println!(
        "cap {MAX_ENTRIES} entries; 'at cap' = {FILL} mixed entries pushed; {FRAMES} frames, \
         {PER_FRAME} entries appended before each (not timed); frame = run_ui + tessellate"
    );

    let fill_start = Instant::now();
    let mut probe = LogBook::default();
    for i in 0..FILL {
        push_entry(&mut probe, i);
    }
    println!(
        "filling the log: {} ms; held {} entries, {} bytes, dropped {}",
        ms(fill_start.elapsed()),
        probe.len(),
        probe.bytes_held(),
        probe.dropped
    );
    drop(probe);
    println!();

    let scenarios = [
        (ViewMode::Text, TextEncoding::Gbk),
        (ViewMode::Text, TextEncoding::Utf8),
        (ViewMode::Hex, TextEncoding::Gbk),
    ];
    let mut rows = Vec::new();
    let mut one_offs: Vec<(String, (Duration, usize))> = Vec::new();
    for (mode, encoding) in scenarios {
        for at_cap in [true, false] {
            let mut bench = Bench::new(mode, encoding, at_cap);
            let name = format!(
                "{} / {}",
                mode_name(mode, encoding),
                if at_cap { "log at cap" } else { "empty log" }
            );
            rows.push(measure(&mut bench, name));
            if at_cap && mode == ViewMode::Text && encoding == TextEncoding::Gbk {
                // Switching the view rebuilds the whole line index, at cap.
                bench.settings.mode = ViewMode::Hex;
                one_offs.push(("switch Text→Hex (index rebuild)".into(), bench.frame()));
                one_offs.push(("  next frame".into(), bench.frame()));
                bench.settings.mode = ViewMode::Text;
                one_offs.push(("switch Hex→Text (index rebuild)".into(), bench.frame()));
                one_offs.push(("  next frame".into(), bench.frame()));
                bench.settings.encoding = TextEncoding::Utf8;
                one_offs.push(("switch GBK→UTF-8 (index rebuild)".into(), bench.frame()));
                // Typing a filter rebuilds the index on every keystroke.
                bench.settings.filter = "o".into();
                one_offs.push(("filter typed 'o' (rebuild)".into(), bench.frame()));
                bench.settings.filter = "ok".into();
                one_offs.push(("filter typed 'ok' (rebuild)".into(), bench.frame()));
                bench.append(PER_FRAME);
                one_offs.push(("  next frame, filter 'ok', +100".into(), bench.frame()));
            }
        }
    }

    let w = 28;
    println!(
        "{:<w$} | {:>8} | {:>10} | {:>10} | {:>10} | {:>10} | {:>8} | {:>8} | {:>8}",
        "scenario",
        "entries",
        "first ms",
        "median ms",
        "p99 ms",
        "max ms",
        "after",
        "dropped",
        "vertices"
    );
    println!("{}", "-".repeat(w + 101));
    for r in &rows {
        println!(
            "{:<w$} | {:>8} | {:>10} | {:>10} | {:>10} | {:>10} | {:>8} | {:>8} | {:>8}",
            r.name,
            r.start_entries,
            ms(r.first),
            ms(r.median),
            ms(r.p99),
            ms(r.max),
            r.end_entries,
            r.dropped,
            r.vertices
        );
    }
    println!();
    println!("one-off frames, log at cap (Text GBK scenario, after its {FRAMES} frames):");
    for (name, (d, vertices)) in &one_offs {
        println!("  {name:<36} {:>10} ms  ({vertices} vertices)", ms(*d));
    }
    println!("(entries/after = entries held before the first / after the last frame; dropped =");
    println!(" LogBook::dropped at the end; vertices = tessellated vertices of the last frame)");
    println!("(16.7 ms is one frame at 60 Hz; figures are CPU time only, no GPU upload)");
}
