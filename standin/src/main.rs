//! Serves the member-API stand-in on 127.0.0.1 until interrupted, for local runs.
//!
//! Usage: `standin [--port N] [--admin-account ID] [--detector REGION=ID]... [--latency-ms N]`
//! It prints `listening on http://127.0.0.1:PORT` once it accepts requests. `GET /_standin/state`
//! answers its members, calls and invitations as JSON.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use standin::{Settings, Standin};

const USAGE: &str =
    "usage: standin [--port N] [--admin-account 12-DIGIT-ID] [--detector REGION=DETECTOR_ID]...";

struct Args {
    settings: Settings,
    port: u16,
    latency: Duration,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut port = 0;
    let mut latency = Duration::ZERO;
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
            "--latency-ms" => {
                let v = value()?;
                let ms = v
                    .parse()
                    .map_err(|_| format!("--latency-ms {v:?} is not a number of milliseconds"))?;
                latency = Duration::from_millis(ms);
            }
            "--help" | "-h" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Args {
        settings,
        port,
        latency,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args {
        settings,
        port,
        latency,
    } = match parse_args(std::env::args().skip(1)) {
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
    standin.set_latency(latency);
    println!("listening on {}", standin.endpoint());
    let _ = std::io::stdout().flush();
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
