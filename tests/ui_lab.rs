//! The Lab panel through egui_kittest: each scenario's button runs it and the diagram shows
//! its segments; step, pause and "drop this packet" do what they say. The lab runs in
//! virtual time, so nothing here waits on a clock: frames are stepped by hand.

mod common;
use common::ui as ui_support;
use egui_kittest::kittest::{NodeT, Queryable};
use socket_workbench::app::{Settings, Tab, WorkbenchApp};
use socket_workbench::i18n::{Lang, Msg};
use socket_workbench::lab::scenario::Scenario;
use socket_workbench::lab::{Dir, Fate, Host};
use socket_workbench::ui::lab_panel::{lab_explanation, lab_title};
use ui_support::{App, shows};

fn harness() -> App {
    // Tall enough for the whole side panel (scenarios, wire, both applications) unscrolled.
    let settings = Settings {
        tab: Tab::Lab,
        lang: Lang::En,
        ..Settings::default()
    };
    ui_support::stepped(settings, [1400.0, 1300.0], 8)
}

/// Steps frames until `done`, at most `frames` of them.
fn frames_until(h: &mut App, frames: usize, what: &str, done: impl Fn(&WorkbenchApp) -> bool) {
    for _ in 0..frames {
        h.step();
        if done(h.state()) {
            h.step();
            return;
        }
    }
    panic!("not after {frames} frames: {what}");
}

#[test]
fn every_scenario_button_runs_and_draws_its_segments() {
    let lang = Lang::En;
    let mut h = harness();
    h.run();
    for s in Scenario::ALL {
        h.get_by_label(lang.t(lab_title(s))).click();
        h.step();
        assert_eq!(h.state().panels.lab.scenario, Some(s));
        // As fast as the panel goes: 50× real speed.
        h.state_mut().panels.lab.clock.speed = 50.0;
        frames_until(&mut h, 3_000, s.name(), |a| {
            a.panels.lab.finished() && a.panels.lab.clock.paused
        });
        let lab = &h.state().panels.lab;
        let packets = lab.play.lab.packets().count();
        assert!(packets >= 3, "{s:?}: {packets} packets");
        assert_eq!(lab.diagram.arrows.len(), packets, "{s:?}: one arrow each");
        assert!(!lab.findings().is_empty(), "{s:?}: no findings");
        assert!(
            !lab.findings()
                .contains(&socket_workbench::lab::scenario::Finding::Incomplete),
            "{s:?} did not get to its end: {:?}",
            lab.findings()
        );
        // What to watch, in words; the diagram's arrows are there to be read (and clicked).
        let why: String = lang.t(lab_explanation(s)).chars().take(30).collect();
        assert!(shows(&h, &why), "{s:?}: no explanation");
        // The arrows in view are drawn (and named): played out, the diagram is back at its
        // start, the handshake first.
        let drawn = lab
            .diagram
            .arrows
            .iter()
            .take(3)
            .all(|a| shows(&h, &format!("#{} {}", a.id, a.label)));
        if !drawn {
            for n in h.query_all_by_label_contains("#") {
                eprintln!("node {:?}", n.accesskit_node().label());
            }
            let last: Vec<_> = lab
                .diagram
                .arrows
                .iter()
                .rev()
                .take(3)
                .map(|a| (a.id, a.y0, a.label.clone()))
                .collect();
            eprintln!(
                "last {last:?} height {} now_y {}",
                lab.diagram.height,
                lab.diagram.y_at(lab.play.lab.now_us())
            );
        }
        assert!(drawn, "{s:?}: no arrow drawn");
        match s {
            Scenario::Handshake => {
                assert!(shows(&h, "#1 SYN seq=0"));
                assert!(shows(&h, "#2 SYN+ACK seq=0 ack=1"));
                assert!(shows(&h, "#3 ACK ack=1 win="));
            }
            Scenario::OldDuplicateSyn => assert!(shows(&h, "RST")),
            Scenario::Checksum => assert!(shows(&h, "UDP")),
            Scenario::Congestion => {
                // Reno beside Cubic: the other algorithm runs on a job once this one ends.
                frames_until(
                    &mut h,
                    600,
                    "the comparison with the other algorithm",
                    |a| {
                        a.panels.lab.findings().iter().any(|f| {
                            matches!(f, socket_workbench::lab::scenario::Finding::Compare { .. })
                        })
                    },
                );
                assert!(shows(&h, "Cubic"));
            }
            _ => {}
        }
    }
}

/// Paused, time stands still; Step goes to exactly the next event (the SYN arriving).
#[test]
fn pause_holds_time_and_step_goes_to_the_next_event() {
    let mut h = harness();
    h.run();
    h.get_by_label(Lang::En.t(lab_title(Scenario::Handshake)))
        .click();
    h.step();
    h.get_by_label(Lang::En.t(Msg::LabPause)).click();
    for _ in 0..30 {
        h.step();
    }
    let t = h.state().panels.lab.play.lab.now_us();
    for _ in 0..30 {
        h.step();
    }
    assert_eq!(
        h.state().panels.lab.play.lab.now_us(),
        t,
        "time moved while paused"
    );
    assert!(h.state().panels.lab.clock.paused);
    // Each step lands on an event: the first ones are the handshake's arrivals, 20 ms apart.
    let mut times = Vec::new();
    for _ in 0..2 {
        h.get_by_label(Lang::En.t(Msg::LabStep)).click();
        h.step();
        times.push(h.state().panels.lab.play.lab.now_us());
    }
    assert!(times.windows(2).all(|w| w[1] > w[0]), "{times:?}");
    assert!(
        times.iter().all(|t| t % 20_000 == 0),
        "steps land on the wire's events: {times:?}"
    );
    assert!(shows(&h, "#2 SYN+ACK"), "the step brought the SYN+ACK");
    // Play again: time goes on.
    h.get_by_label(Lang::En.t(Msg::LabPlay)).click();
    for _ in 0..10 {
        h.step();
    }
    assert!(h.state().panels.lab.play.lab.now_us() > *times.last().unwrap_or(&0));
}

/// Select the SYN while it flies and drop it: it never arrives, and the client sends it
/// again after its retransmission timeout.
#[test]
fn dropping_the_packet_in_flight() {
    let mut h = harness();
    h.run();
    h.get_by_label(Lang::En.t(lab_title(Scenario::Handshake)))
        .click();
    h.step();
    h.get_by_label(Lang::En.t(Msg::LabPause)).click();
    h.step();
    // The SYN is on the wire (sent at t = 0, arriving at 20 ms); pick it on the wire.
    assert!(
        h.state()
            .panels
            .lab
            .play
            .lab
            .on_the_wire()
            .iter()
            .any(|(id, _)| *id == 1),
        "{:?}",
        h.state().panels.lab.play.lab.on_the_wire()
    );
    h.query_all_by_label_contains("#1 SYN seq=0")
        .next()
        .expect("the SYN, drawn")
        .click();
    h.step();
    assert_eq!(h.state().panels.lab.selected, Some(1));
    h.get_by_label(Lang::En.t(Msg::LabDrop)).click();
    h.step();
    h.step();
    assert_eq!(
        h.state().panels.lab.play.lab.packet(1).map(|p| p.fate),
        Some(Fate::Dropped)
    );
    assert!(shows(&h, Lang::En.t(Msg::LabGone)));
    // Faster now: the SYN comes again (a retransmission) after at least 1 s.
    h.get_by_label(Lang::En.t(Msg::LabPlay)).click();
    h.state_mut().panels.lab.clock.speed = 50.0;
    frames_until(&mut h, 2_000, "the resent SYN", |a| {
        a.panels
            .lab
            .play
            .lab
            .packets()
            .any(|p| p.dir == Dir::C2S && p.retransmission)
    });
    let resent = h
        .state()
        .panels
        .lab
        .play
        .lab
        .packets()
        .find(|p| p.retransmission)
        .map(|p| p.t_us)
        .unwrap_or(0);
    assert!(resent >= 1_000_000, "resent at {resent} µs");
    frames_until(&mut h, 2_000, "the connection", |a| {
        a.panels.lab.play.lab.state_ref(Host::Client) == smoltcp::socket::tcp::State::Established
    });
}

/// Hold every packet: nothing moves until "Deliver next"; the table follows the record.
#[test]
fn hold_and_deliver_by_hand() {
    let mut h = harness();
    h.run();
    h.query_all_by_label(Lang::En.t(Msg::LabManual))
        .next()
        .expect("the By hand button")
        .click();
    h.step();
    // Sending before connecting: the panel says why nothing went.
    h.query_all_by_label(Lang::En.t(Msg::LabSendText))
        .next()
        .expect("the client's Send text")
        .click();
    h.step();
    h.step();
    assert!(
        shows(&h, "not open for sending"),
        "the failed sendall() is not said"
    );
    h.get_by_label(Lang::En.t(Msg::LabHold)).click();
    h.step();
    assert!(h.state().panels.lab.wire.hold);
    h.get_by_label("listen()").click();
    h.step();
    h.get_by_label("connect()").click();
    h.step();
    for _ in 0..60 {
        h.step();
    }
    // Only the SYN (and, as the seconds pass, its resends), every one held.
    let lab = &h.state().panels.lab.play.lab;
    assert!(lab.packets().count() >= 1);
    assert!(
        lab.packets().all(|p| p.fate == Fate::Held
            && p.dir == Dir::C2S
            && p.tcp.as_ref().is_some_and(|t| t.has("SYN"))),
        "{:?}",
        lab.packets().map(|p| p.fate).collect::<Vec<_>>()
    );
    h.get_by_label_contains("Deliver next").click();
    frames_until(&mut h, 600, "the SYN+ACK, held in its turn", |a| {
        a.panels
            .lab
            .play
            .lab
            .packets()
            .any(|p| p.dir == Dir::S2C && p.fate == Fate::Held)
    });
    assert!(matches!(
        h.state().panels.lab.play.lab.packet(1).map(|p| p.fate),
        Some(Fate::Delivered { .. })
    ));
    assert!(shows(&h, "SYN+ACK"), "the table lists it");
}
