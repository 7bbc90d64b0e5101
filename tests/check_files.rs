//! "Check my file server" (exercise 2) against reference servers: the lesson's own
//! Python file server (passes), one that cuts big files short (fails, and says where), one
//! that answers a missing name with an error text (fails, and says what it sent).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use socket_workbench::net::check_files::{Fetch, FilesCheck, FilesConfig, FilesVerdict, run_all};
use socket_workbench::proto::encoding::TextEncoding;

mod common;
use common::files;
use files::*;

const CHINESE: &str = "课程笔记.txt";

/// A folder like the lesson's: a script, a 300 KB file, a Chinese name.
fn folder(tmp: &TempDir) -> PathBuf {
    let dir = tmp.dir("shared");
    write_file(&dir.join("hello.py"), b"print('hello, socket')\n");
    write_file(&dir.join("lecture.bin"), &random_bytes(300_000, 1));
    write_file(&dir.join(CHINESE), "第一课：三次握手\n".as_bytes());
    dir
}

fn config(addr: SocketAddr, local: &Path) -> FilesConfig {
    FilesConfig {
        addr,
        local: local.to_path_buf(),
        encoding: TextEncoding::Utf8,
        timeout: Duration::from_secs(3),
    }
}

/// A lesson-style server in Rust with a flaw: `limit` bytes of each file at most, and
/// `missing` sent for a name it does not have.
fn flawed_server(dir: PathBuf, limit: usize, missing: &'static [u8]) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut c in l.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let n = c.read(&mut buf).unwrap_or(0);
                let name = String::from_utf8_lossy(&buf[..n]).trim().to_owned();
                match std::fs::read(dir.join(&name)) {
                    Ok(data) => {
                        let _ = c.write_all(&data[..data.len().min(limit)]);
                    }
                    Err(_) => {
                        let _ = c.write_all(missing);
                    }
                }
            });
        }
    });
    a
}

#[test]
fn the_lessons_python_file_server_passes() {
    let Some(python) = python3() else {
        eprintln!("note: python3 not found; skipping the test with the lesson's server");
        return;
    };
    let tmp = TempDir::new("check-files-py");
    let dir = folder(&tmp);
    // Over 100 MB, for the big-file check.
    write_file(
        &dir.join("video.bin"),
        &random_bytes(100 * 1024 * 1024 + 7, 2),
    );
    let mut py = Py::spawn(
        python,
        "lesson_file_server.py",
        &["0", "127.0.0.1", dir.to_str().unwrap()],
    );
    let port = py.listening_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let results = run_all(&config(addr, &dir), |_| {});
    assert_eq!(results.len(), FilesCheck::ALL.len());
    for r in &results {
        assert!(r.verdict.passed(), "{:?}: {:?}", r.check, r.verdict);
        assert_ne!(
            r.verdict,
            FilesVerdict::Skipped,
            "{:?} was skipped",
            r.check
        );
    }
    // It decodes names as UTF-8, else GBK: both encodings of the Chinese name work.
    let chinese = results
        .iter()
        .find(|r| r.check == FilesCheck::ChineseName)
        .map(|r| r.verdict.clone());
    assert!(matches!(
        chinese,
        Some(FilesVerdict::ChineseName {
            utf8: true,
            gbk: true,
            ..
        })
    ));
}

#[test]
fn a_server_that_truncates_big_files_fails_and_says_where() {
    let tmp = TempDir::new("check-files-cut");
    let dir = folder(&tmp);
    let addr = flawed_server(dir.clone(), 65_536, b"");
    let results = run_all(&config(addr, &dir), |_| {});
    assert_eq!(
        results[0].verdict,
        FilesVerdict::Failed {
            name: "lecture.bin".to_owned(),
            how: Fetch::Truncated {
                got: 65_536,
                expected: 300_000
            }
        }
    );
    // The missing name is handled right (nothing sent, then close).
    assert!(results[1].verdict.passed(), "{:?}", results[1].verdict);
}

#[test]
fn a_server_that_sends_an_error_text_for_a_missing_file_fails() {
    let tmp = TempDir::new("check-files-text");
    let dir = folder(&tmp);
    let addr = flawed_server(dir.clone(), usize::MAX, b"file not found");
    let results = run_all(&config(addr, &dir), |_| {});
    assert!(results[0].verdict.passed(), "{:?}", results[0].verdict);
    assert_eq!(
        results[1].verdict,
        FilesVerdict::SentForMissing {
            bytes: 14,
            text: "file not found".to_owned()
        }
    );
    // No file over 100 MB here: skipped, which is not a failure.
    let big = results.iter().find(|r| r.check == FilesCheck::BigFile);
    assert_eq!(big.map(|r| r.verdict.clone()), Some(FilesVerdict::Skipped));
}

/// From the command line: exit codes, and the evidence in words.
#[test]
fn check_files_from_the_command_line() {
    let bin = env!("CARGO_BIN_EXE_socket-workbench");
    let tmp = TempDir::new("check-files-cli");
    let dir = folder(&tmp);
    let addr = flawed_server(dir.clone(), usize::MAX, b"404");
    let out = std::process::Command::new(bin)
        .args([
            "check-files",
            &addr.to_string(),
            "--local",
            dir.to_str().unwrap(),
            "--lang",
            "zh",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("服务器发送了 3 字节：“404”"), "{text}");
    let bad = std::process::Command::new(bin)
        .args([
            "check-files",
            &addr.to_string(),
            "--local",
            "/no/such/folder",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
