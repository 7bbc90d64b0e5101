//! Opens the window, or runs a headless command (`socket-workbench --help`).

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use socket_workbench::app::{StartOptions, Tab, WorkbenchApp};
use socket_workbench::cli::{Cli, Io, StopSignal, run, split_host_port};
use socket_workbench::i18n::{Msg, describe_error};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        Some(command) => {
            // main owns stdout, stderr and Ctrl+C: a command that runs until stopped hears
            // the first Ctrl+C and ends cleanly; one that does not listen (or a second
            // Ctrl+C) ends the process, as the terminal would.
            let stop = StopSignal::default();
            let signal = stop.clone();
            if let Err(e) = ctrlc::set_handler(move || {
                if !signal.stop() {
                    std::process::exit(130);
                }
            }) {
                eprintln!("socket-workbench: cannot catch Ctrl+C: {e}");
            }
            run(
                command,
                cli.lang.unwrap_or_default(),
                &matches,
                &mut Io::std(stop),
            )
        }
        None => {
            let connect = match cli.connect.as_deref().map(split_host_port).transpose() {
                Ok(c) => c,
                Err(err) => {
                    let lang = cli.lang.unwrap_or_default();
                    eprintln!(
                        "socket-workbench: --connect: {}",
                        describe_error(lang, &err)
                    );
                    return ExitCode::from(socket_workbench::cli::EXIT_USAGE);
                }
            };
            let listen = match cli
                .listen
                .as_deref()
                .map(socket_workbench::cli::parse_listen_addr)
                .transpose()
            {
                Ok(l) => l,
                Err(err) => {
                    let lang = cli.lang.unwrap_or_default();
                    eprintln!("socket-workbench: --listen: {}", describe_error(lang, &err));
                    return ExitCode::from(socket_workbench::cli::EXIT_USAGE);
                }
            };
            let udp = match cli
                .udp_bind
                .as_deref()
                .map(socket_workbench::cli::parse_listen_addr)
                .transpose()
            {
                Ok(u) => u,
                Err(err) => {
                    let lang = cli.lang.unwrap_or_default();
                    eprintln!("socket-workbench: --udp: {}", describe_error(lang, &err));
                    return ExitCode::from(socket_workbench::cli::EXIT_USAGE);
                }
            };
            let tab = match cli.tab.as_deref().map(|name| (name, Tab::from_name(name))) {
                None => None,
                Some((_, Some(tab))) => Some(tab),
                Some((name, None)) => {
                    let lang = cli.lang.unwrap_or_default();
                    let names = Tab::names().join(", ");
                    let text = lang.fmt(Msg::UnknownPanel, &[("name", &name), ("names", &names)]);
                    eprintln!("socket-workbench: --tab: {text}");
                    return ExitCode::from(socket_workbench::cli::EXIT_USAGE);
                }
            };
            let lang = cli.lang.unwrap_or_default();
            let payloads = match &cli.gui_payloads {
                None => None,
                Some(path) => match std::fs::read_to_string(path)
                    .map_err(|e| {
                        describe_error(lang, &socket_workbench::net::NetError::file_read(path, &e))
                    })
                    .and_then(|text| {
                        socket_workbench::proto::library::Library::parse(&text).map_err(|e| {
                            lang.fmt(
                                Msg::LibraryBad,
                                &[("path", &path.display()), ("error", &e.to_string())],
                            )
                        })
                    }) {
                    Ok(lib) => Some(lib),
                    Err(words) => {
                        eprintln!("socket-workbench: --payloads: {words}");
                        return ExitCode::from(socket_workbench::cli::EXIT_USAGE);
                    }
                },
            };
            let script = match &cli.gui_script {
                None => None,
                Some(path) => match std::fs::read_to_string(path) {
                    Ok(text) => Some(text),
                    Err(e) => {
                        let err = socket_workbench::net::NetError::file_read(path, &e);
                        eprintln!("socket-workbench: --script: {}", describe_error(lang, &err));
                        return ExitCode::from(socket_workbench::cli::EXIT_USAGE);
                    }
                },
            };
            open_window(StartOptions {
                frame: cli.gui_frame,
                payloads,
                script,
                lang: cli.lang,
                connect,
                encoding: cli.gui_encoding,
                listen,
                udp,
                udp_to: cli.udp_to,
                serve: cli.serve_dir,
                tab,
                lab: cli.lab_scenario,
                lesson: cli.lesson_scenario,
                check: cli
                    .check_target
                    .map(|t| (socket_workbench::model::check::Mode::Server, t))
                    .or(cli
                        .load_target
                        .map(|t| (socket_workbench::model::check::Mode::Load, t))),
                clients: cli.gui_clients,
                classroom: cli.classroom,
                download: cli.download_from.map(|server| (server, cli.download_files)),
            })
        }
    }
}

fn open_window(start: StartOptions) -> ExitCode {
    // Windows: a double-clicked .exe has a console window of its own; the window needs none.
    socket_workbench::net::sys::release_own_console();
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("Socket Workbench")
        .with_app_id("socket-workbench")
        .with_inner_size([1240.0, 800.0])
        .with_min_inner_size([760.0, 520.0]);
    match eframe::icon_data::from_png_bytes(include_bytes!("../assets/icon.png")) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(e) => eprintln!("socket-workbench: the window icon could not be loaded: {e}"),
    }
    let options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    let result = eframe::run_native(
        "socket-workbench",
        options,
        Box::new(move |cc| Ok(Box::new(WorkbenchApp::new(cc, start)))),
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // There is no window to show this in, so the terminal is the only place left.
            eprintln!("socket-workbench: could not open the window: {e}");
            ExitCode::FAILURE
        }
    }
}
