//! Serves the member-API stand-in on 127.0.0.1 until interrupted, for local runs.
//!
//! Usage: `standin [--port N] [--admin-account ID] [--detector REGION=ID]...`
//! It prints `listening on http://127.0.0.1:PORT` once it accepts requests. `GET /_standin/state`
//! answers its members, calls and invitations as JSON.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use standin::{Settings, Standin};

const USAGE: &str =
    "usage: standin [--port N] [--admin-account 12-DIGIT-ID] [--detector REGION=DETECTOR_ID]...";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<(Settings, u16), String> {
    let mut port = 0;
    let mut settings = Settings {
        admin_account: "123456789012".to_owned(),
        detectors: BTreeMap::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--port" => {
                let v = value()?;
                port = v
                    .parse()
                    .map_err(|_| format!("--port {v:?} is not a port number"))?;
            }
            "--admin-account" => settings.admin_account = value()?,
            "--detector" => {
                let v = value()?;
                let (region, id) = v
                    .split_once('=')
                    .ok_or(format!("--detector {v:?} must be REGION=DETECTOR_ID"))?;
                settings.detectors.insert(region.to_owned(), id.to_owned());
            }
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok((settings, port))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (settings, port) = match parse_args(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let standin = match Standin::start_on(settings, port).await {
        Ok(standin) => standin,
        Err(e) => {
            eprintln!("standin: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", standin.endpoint());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
