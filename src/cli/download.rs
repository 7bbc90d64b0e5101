//! `download`: one file from a lesson-style (or verified) file server.

use super::*;

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// The file server: HOST:PORT.
    pub server: String,
    /// The file name to ask for.
    pub name: String,
    /// Where to save it (default: the name, in the current folder; never overwritten silently).
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Use the verified protocol: size and BLAKE3 digest are checked before the file is kept.
    #[arg(long)]
    pub verify: bool,
    /// With --verify: continue an interrupted download from its .part file.
    #[arg(long, requires = "verify")]
    pub resume: bool,
    /// Replace the destination if it already exists.
    #[arg(long)]
    pub overwrite: bool,
    /// Encoding of the file name in lesson mode (gbk for a Windows lesson server).
    #[arg(long, default_value = "utf-8", value_parser = parse_encoding)]
    pub encoding: TextEncoding,
}

pub(super) fn download(args: DownloadArgs, lang: Lang, io: &mut Io) -> ExitCode {
    use crate::net::download::{
        DownloadConfig, DownloadEvent, free_name, part_path, spawn_download,
    };
    let (host, port) = match split_host_port(&args.server) {
        Ok(hp) => hp,
        Err(err) => {
            errln!(io, "socket-workbench: {}", describe_error(lang, &err));
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let dest = match &args.output {
        Some(path) => path.clone(),
        None => {
            // Only the last component, made safe: a remote name never leaves this folder.
            let base = crate::proto::download::local_file_name(&args.name);
            let base = std::path::Path::new(&base);
            if args.resume && part_path(base).is_file() {
                // Resuming: carry on with the part an earlier run left, not a fresh name.
                base.to_path_buf()
            } else {
                free_name(base)
            }
        }
    };
    let mut config = DownloadConfig::new(host, port, args.name.clone(), dest.clone());
    config.verified = args.verify;
    config.resume = args.resume;
    config.overwrite = args.overwrite;
    config.name_encoding = args.encoding;
    let (tx, rx) = flume::bounded(CLI_EVENTS);
    let handle = match started(spawn_download(config, tx, Waker::noop()), lang, io) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let code = loop {
        let Ok(msg) = rx.recv() else {
            break ExitCode::from(EXIT_NETWORK);
        };
        match msg.event {
            DownloadEvent::Progress { have, total, rate } => {
                let pct = total
                    .filter(|t| *t > 0)
                    .map(|t| format!(" {:5.1}%", have as f64 * 100.0 / t as f64))
                    .unwrap_or_default();
                errln!(
                    io,
                    "{}{pct} {}/s",
                    crate::proto::format::human_bytes(have),
                    crate::proto::format::human_bytes(rate as u64)
                );
            }
            DownloadEvent::Done {
                path,
                bytes,
                took,
                verified,
            } => {
                let check = if verified {
                    ", size and BLAKE3 verified"
                } else {
                    ""
                };
                errln!(
                    io,
                    "saved {} ({bytes} bytes in {:.3} s{check})",
                    path.display(),
                    took.as_secs_f64()
                );
                break ExitCode::SUCCESS;
            }
            DownloadEvent::Failed { error, kept } => {
                errln!(io, "socket-workbench: {}", describe_error(lang, &error));
                match kept {
                    // Complete, but the name was taken while it downloaded.
                    Some(part) if error.kind == NetErrorKind::DestinationExists => errln!(
                        io,
                        "socket-workbench: {}",
                        lang.fmt(Msg::KeptAs, &[("path", &part.display())])
                    ),
                    Some(part) => errln!(
                        io,
                        "socket-workbench: the partial file is {} (run again with --resume)",
                        part.display()
                    ),
                    None => {}
                }
                break match error.kind {
                    NetErrorKind::DestinationExists => ExitCode::from(EXIT_USAGE),
                    _ => ExitCode::from(EXIT_NETWORK),
                };
            }
            _ => {}
        }
    };
    // The engine may be waiting for room in the full channel: let its sends fail instead.
    drop(rx);
    handle.join();
    code
}
