//! The glass-box lab's figures. A plain binary (`harness = false`): it measures and
//! prints, it never asserts on timing. Run with `cargo bench --bench lab`.
//!
//! 1. Headless: a 10 MB transfer between the two smoltcp hosts through the simulated wire,
//!    in virtual time (no loss, and 1% loss): wall time (one thread, so CPU time), virtual
//!    time it covered, packets on the wire, and packets per second of simulation.
//! 2. The Lab panel with 2,000 packets in its record, playing (the record still growing, so
//!    the diagram is rebuilt on each frame that brings new events): the CPU time of a frame
//!    (`Context::run_ui` plus `tessellate`, on a headless 1280x800 screen) at p50/p99/max,
//!    against the 16.7 ms of a 60 fps frame.

use std::hint::black_box;
use std::time::{Duration, Instant};

use egui::{Pos2, RawInput, Rect, vec2};
use smoltcp::socket::tcp::State;
use socket_workbench::i18n::Lang;
use socket_workbench::lab::{Command, Host, Lab, LabConfig, WireSettings};
use socket_workbench::model::lab_diagram::LabDiagram;
use socket_workbench::ui::lab_panel::LabPanel;

mod common;
use common::percentile;

const MB10: u64 = 10_000_000;

fn transfer(loss_pct: f64) {
    let mut lab = Lab::with(LabConfig {
        wire: WireSettings {
            loss_pct,
            ..WireSettings::default()
        },
        rx_buffer: 256 * 1024,
        tx_buffer: 256 * 1024,
        ..LabConfig::default()
    });
    let start = Instant::now();
    lab.apply(Command::Listen);
    lab.apply(Command::Connect);
    lab.run_while(60_000_000, |l| l.state(Host::Client) == State::Established);
    lab.apply(Command::SendBulk(Host::Client, MB10));
    let done = lab.run_while(3_600_000_000, |l| l.app(Host::Server).received >= MB10);
    let wall = start.elapsed();
    let packets = lab.packets().count();
    println!(
        "10 MB through the lab, {loss_pct}% loss: {} in {:.3} s of CPU, {:.1} s of virtual time, \
         {packets} packets, {:.0} packets/s of simulation, {:.0} MB/s of virtual transfer",
        if done { "complete" } else { "INCOMPLETE" },
        wall.as_secs_f64(),
        lab.now_us() as f64 / 1e6,
        packets as f64 / wall.as_secs_f64(),
        MB10 as f64 / 1e6 / wall.as_secs_f64(),
    );
    black_box(&lab.record);
}

fn panel_frames(classroom: bool) {
    let ctx = egui::Context::default();
    socket_workbench::fonts::install(&ctx);
    let mut panel = LabPanel::default();
    panel.classroom = classroom;
    // A bulk transfer through a 10 Mbit/s bottleneck, by hand, headless up to 2,000 packets;
    // then the panel plays on from there at 1×.
    panel.wire = WireSettings {
        rate_bps: 10_000_000,
        queue_pkts: 50,
        ..WireSettings::default()
    };
    panel.manual();
    panel.play.lab.apply(Command::Listen);
    panel.play.lab.apply(Command::Connect);
    panel
        .play
        .lab
        .run_while(60_000_000, |l| l.state(Host::Client) == State::Established);
    panel
        .play
        .lab
        .apply(Command::SendBulk(Host::Client, 50_000_000));
    let mut t = 0;
    while panel.play.lab.packets().count() < 2_000 && t < 600_000_000 {
        t += 10_000;
        panel.play.run_to(t);
    }
    panel.clock.speed = 1.0;
    let mut time = 0.0;
    let mut input = || {
        time += 1.0 / 60.0;
        RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1280.0, 800.0))),
            time: Some(time),
            predicted_dt: 1.0 / 60.0,
            ..RawInput::default()
        }
    };
    for _ in 0..3 {
        let out = ctx.run_ui(input(), |ui| {
            egui::CentralPanel::default().show(ui, |ui| panel.ui(ui, Lang::Zh));
        });
        black_box(ctx.tessellate(out.shapes, out.pixels_per_point));
    }
    let mut frames = Vec::new();
    for _ in 0..300 {
        let i = input();
        let start = Instant::now();
        let out = ctx.run_ui(i, |ui| {
            egui::CentralPanel::default().show(ui, |ui| panel.ui(ui, Lang::Zh));
        });
        black_box(ctx.tessellate(out.shapes, out.pixels_per_point));
        frames.push(start.elapsed());
    }
    let packets = panel.play.lab.packets().count();
    frames.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "Lab panel{}, playing with {packets} packets in the record: frame p50 {:.2} ms, \
         p99 {:.2} ms, max {:.2} ms (60 fps allows 16.7 ms)",
        if classroom { " (classroom)" } else { "" },
        ms(percentile(&frames, 50.0)),
        ms(percentile(&frames, 99.0)),
        ms(*frames.last().unwrap_or(&Duration::ZERO)),
    );
    let start = Instant::now();
    let d = LabDiagram::build(&panel.play.lab, Lang::Zh);
    println!(
        "  of which a full diagram rebuild ({} arrows): {:.2} ms",
        d.arrows.len(),
        ms(start.elapsed())
    );
}

fn main() {
    transfer(0.0);
    transfer(1.0);
    panel_frames(false);
    panel_frames(true);
}
