//! The file server and download panels through egui_kittest: type a folder, start serving,
//! download through the client panel, progress reaches 100 %.

mod common;
use common::ui as ui_support;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use ui_support::{App, shows};

use egui_kittest::kittest::Queryable;
use socket_workbench::app::{Settings, Tab};
use socket_workbench::model::files::{DownloadState, FileServerStatus};

const LIMIT: Duration = Duration::from_secs(20);

fn harness(settings: Settings) -> App {
    ui_support::harness(settings, [1280.0, 900.0])
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("swb-ui-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn serve_a_typed_folder_and_download_through_the_panel() {
    let share = TempDir::new("share");
    let save = TempDir::new("save");
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(share.0.join("lesson.bin"), &content).unwrap();

    let mut settings = Settings {
        tab: Tab::FileServer,
        ..Settings::default()
    };
    settings.files.bind_ip = "127.0.0.1".into();
    settings.files.port = "0".into();
    settings.download.folder = save.0.display().to_string();
    let mut h = harness(settings);
    h.run();

    // Type the folder, start serving.
    let field = h.get_by_label("Shared folder");
    field.focus();
    field.type_text(&share.0.display().to_string());
    h.run();
    h.get_by_label("Start serving").click();
    h.run();
    let deadline = Instant::now() + LIMIT;
    let local = loop {
        if let FileServerStatus::Listening { local, .. } = &h.state().panels.files.model.status {
            break *local;
        }
        assert!(Instant::now() < deadline, "the file server did not start");
        h.state_mut()
            .panels
            .files
            .wait_event(Duration::from_millis(200));
    };
    h.run();
    assert!(shows(&h, "Serving"));

    // Download it through the client panel, verified.
    h.get_by_label("Download").click();
    h.run();
    h.state_mut().panels.download.settings.server = local.to_string();
    h.run();
    let name = h.get_by_label("File name");
    name.focus();
    name.type_text("lesson.bin");
    h.run();
    h.get_by_label("Start download").click();
    h.run();
    let deadline = Instant::now() + LIMIT;
    loop {
        let done = h
            .state()
            .panels
            .download
            .model
            .rows
            .first()
            .is_some_and(|r| !r.running());
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the download did not finish");
        h.state_mut()
            .panels
            .download
            .wait_event(Duration::from_millis(200));
    }
    h.run();
    let row = &h.state().panels.download.model.rows[0];
    assert!(
        matches!(row.state, DownloadState::Done { verified: true, .. }),
        "{:?}",
        row.state
    );
    assert!(shows(&h, "100%"), "progress reaches 100 %");
    assert!(shows(&h, "size and BLAKE3 digest match"));
    assert_eq!(std::fs::read(save.0.join("lesson.bin")).unwrap(), content);

    // A second download of the same name does not overwrite the first.
    let ctx = h.ctx.clone();
    h.state_mut().panels.download.start(&ctx, None);
    let deadline = Instant::now() + LIMIT;
    while h
        .state()
        .panels
        .download
        .model
        .rows
        .iter()
        .any(|r| r.running())
    {
        assert!(Instant::now() < deadline);
        h.state_mut()
            .panels
            .download
            .wait_event(Duration::from_millis(200));
    }
    assert!(save.0.join("lesson (1).bin").exists());
}

/// "List files" with an address that has no port says so in the panel (it did nothing).
#[test]
fn list_files_with_a_bad_address_says_why() {
    let mut settings = Settings {
        tab: Tab::Download,
        ..Settings::default()
    };
    settings.download.server = "127.0.0.1".into();
    settings.download.verified = true;
    let mut h = harness(settings);
    h.run();
    h.get_by_label("List files").click();
    h.run();
    assert!(
        shows(&h, "The port must be a whole number from 1 to 65535."),
        "no error shown"
    );
}
