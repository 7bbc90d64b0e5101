//! The Lesson panel through egui_kittest: every scenario's button produces its diagram and
//! its explanation; step mode enables only the calls that are legal.

mod common;
use common::ui as ui_support;
use std::time::{Duration, Instant};
use ui_support::{App, shows};

use egui_kittest::kittest::{NodeT, Queryable};
use socket_workbench::app::{Settings, Tab, WorkbenchApp};
use socket_workbench::i18n::{Lang, Msg};
use socket_workbench::net::scenario::LessonScenario;
use socket_workbench::net::step::Step;
use socket_workbench::ui::lesson_panel::{scenario_explanation, scenario_title};

const LIMIT: Duration = Duration::from_secs(20);

fn harness(settings: Settings) -> App {
    ui_support::harness(settings, [1400.0, 1000.0])
}

fn settle(h: &mut App, what: &str, done: impl Fn(&WorkbenchApp) -> bool) {
    let deadline = Instant::now() + LIMIT;
    loop {
        // step, not run: a running scenario shows a spinner, which never settles.
        h.step();
        if done(h.state()) {
            h.run();
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_scenario_button_draws_its_diagram_and_explains() {
    let lang = Lang::En;
    let mut h = harness(Settings {
        tab: Tab::Lesson,
        ..Settings::default()
    });
    h.run();
    for s in LessonScenario::ALL {
        h.get_by_label(lang.t(scenario_title(s))).click();
        settle(&mut h, "the scenario to end", |a| {
            !a.panels.lesson.running()
        });
        assert!(
            !h.state().panels.lesson.findings().is_empty(),
            "{s:?}: no findings"
        );
        // The explanation, in full (its first words are enough to find the label).
        let why: String = lang.t(scenario_explanation(s)).chars().take(30).collect();
        assert!(shows(&h, &why), "{s:?}: no explanation");
        if s.has_diagram() {
            assert!(
                shows(
                    &h,
                    lang.t(Msg::DiagramLegendInferred)
                        .split('.')
                        .next()
                        .unwrap()
                ),
                "{s:?}: no diagram legend"
            );
        }
        match s {
            LessonScenario::Handshake => {
                assert!(shows(&h, "SYN+ACK"));
                assert!(shows(&h, "TIME_WAIT"));
            }
            LessonScenario::Abortive => assert!(shows(&h, "RST")),
            LessonScenario::HalfClose => assert!(shows(&h, "FIN")),
            _ => {}
        }
    }
}

#[test]
fn step_mode_enables_only_legal_calls() {
    let mut h = harness(Settings {
        tab: Tab::Lesson,
        lang: Lang::En,
        ..Settings::default()
    });
    h.run();
    h.get_by_label("Step mode").click();
    h.run();
    let enabled = |h: &App, label: &str| -> Vec<bool> {
        h.query_all_by_label(label)
            .map(|n| !n.accesskit_node().is_disabled())
            .collect()
    };
    // Before anything: only the two socket() calls.
    assert_eq!(enabled(&h, "socket()"), [true, true]);
    assert_eq!(enabled(&h, "bind()"), [false]);
    assert_eq!(enabled(&h, "connect()"), [false]);
    assert_eq!(enabled(&h, "accept()"), [false]);
    // The server's socket(): now bind() is legal, and nothing else on that side.
    h.query_all_by_label("socket()").next().unwrap().click();
    settle(&mut h, "socket()", |a| {
        a.panels.lesson.step_legal(Step::ServerBind)
    });
    assert_eq!(enabled(&h, "bind()"), [true]);
    assert_eq!(enabled(&h, "listen()"), [false]);
    assert!(shows(&h, "socket(AF_INET, SOCK_STREAM)"));
    h.get_by_label("bind()").click();
    settle(&mut h, "bind()", |a| {
        a.panels.lesson.step_legal(Step::ServerListen)
    });
    h.get_by_label("listen()").click();
    settle(&mut h, "listen()", |a| {
        a.panels.lesson.step_legal(Step::ServerAccept)
    });
    assert_eq!(enabled(&h, "accept()"), [true]);
    if cfg!(target_os = "linux") {
        settle(&mut h, "LISTEN shown", |_| true);
        assert!(shows(&h, "LISTEN"));
    }
}

/// The client panel connected to this program's own server panel: each panel's diagram has
/// both lanes (no "(peer)"), with the handshake drawn once and both ends' calls.
#[test]
fn own_client_to_own_server_draws_both_lanes() {
    let mut settings = Settings {
        tab: Tab::TcpServer,
        lang: Lang::En,
        ..Settings::default()
    };
    settings.server.bind_ip = "127.0.0.1".into();
    settings.server.port = "0".into();
    settings.server.trace_diagram = true;
    settings.client.trace_diagram = true;
    let mut h = harness(settings);
    h.run();
    h.get_by_label("Start listening").click();
    settle(&mut h, "listening", |a| {
        a.panels.server.model.status.listening().is_some()
    });
    let local = h.state().panels.server.model.status.listening().unwrap();
    // Connect from the client panel.
    h.state_mut().panels.client.settings.host = "127.0.0.1".into();
    h.state_mut().panels.client.settings.port = local.port().to_string();
    h.get_by_label("TCP client").click();
    h.run();
    h.get_by_label("Connect").click();
    settle(&mut h, "connected both ways", |a| {
        a.panels.server.model.connected == 1
            && matches!(
                a.panels.client.model.status,
                socket_workbench::model::ClientStatus::Connected { .. }
            )
    });
    // A few frames for the trace to arrive on both sides.
    for _ in 0..20 {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run();
    assert!(shows(&h, "SYN+ACK"), "client panel diagram");
    assert!(!shows(&h, "(peer)"), "both lanes known in the client panel");
    assert!(
        shows(&h, "accept()"),
        "the server's accept() in the client's diagram"
    );
    h.get_by_label("TCP server").click();
    h.run();
    assert!(shows(&h, "SYN+ACK"), "server panel diagram");
    assert!(!shows(&h, "(peer)"), "both lanes known in the server panel");
    assert!(
        shows(&h, "connect("),
        "the client's connect() in the server's diagram"
    );
}

/// Classroom mode: one click gives a large zoom and pure black text, remembered in settings.
#[test]
fn classroom_mode_is_one_click_and_remembered() {
    let mut h = harness(Settings {
        lang: Lang::En,
        ..Settings::default()
    });
    h.run();
    h.get_by_label("Classroom").click();
    h.run();
    assert!(h.state().classroom);
    assert!(h.ctx.zoom_factor() >= socket_workbench::app::CLASSROOM_ZOOM);
    assert_eq!(
        h.ctx
            .style_of(egui::Theme::Light)
            .visuals
            .override_text_color,
        Some(egui::Color32::BLACK)
    );
    assert!(h.state().settings().classroom, "saved with the settings");
    // The bar is one line now: the toggle is behind the View menu (or Escape).
    h.get_by_label("View ▼").click();
    h.run();
    h.get_by_label("Classroom").click();
    h.run();
    assert!(h.ctx.zoom_factor() < socket_workbench::app::CLASSROOM_ZOOM);
    assert_eq!(
        h.ctx
            .style_of(egui::Theme::Light)
            .visuals
            .override_text_color,
        None
    );
    // Escape leaves it too.
    h.get_by_label("Classroom").click();
    h.run();
    assert!(h.state().classroom);
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(!h.state().classroom);
}
