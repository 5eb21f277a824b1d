//! `svcflow-gateway [--config <file>]`: the org's REST gateway. The config file defaults to
//! `$SVCFLOW_GW_CONFIG`, then `gateway.toml`; any `SVCFLOW_GW_*` variable overrides a key of it
//! and `SVCFLOW_GW_LOG` (else `RUST_LOG`) sets the log filter.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use svcflow_gateway::config::Config;
use svcflow_gateway::startup::StartError;

fn config_path() -> Result<PathBuf, StartError> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => Ok(std::env::var_os("SVCFLOW_GW_CONFIG").map(PathBuf::from).unwrap_or_else(|| "gateway.toml".into())),
        (Some("--config" | "-c"), Some(p)) => Ok(p.into()),
        (Some("-h" | "--help"), _) => {
            Err(StartError::Usage("usage: svcflow-gateway [--config <file>]   (SVCFLOW_GW_* variables override the file)".into()))
        }
        (Some(other), _) => Err(StartError::Usage(format!("unexpected argument {other:?}; usage: svcflow-gateway [--config <file>]"))),
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SVCFLOW_GW_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| "info".into());
    let b = tracing_subscriber::fmt().with_env_filter(filter);
    if std::io::stdout().is_terminal() {
        b.init();
    } else {
        // Flat lines: every field that matters (tx id first of all) is on the event itself, and
        // serialising span lists per event was a tenth of the gateway's CPU under load.
        b.json().with_current_span(false).with_span_list(false).init();
    }
}

#[actix_web::main]
async fn main() -> ExitCode {
    init_logs();
    let started = async {
        // The one place a start-up failure is reported: below, every layer only says what failed.
        let path = config_path()?;
        let cfg = Config::load(&path, std::env::vars())?;
        let state = svcflow_gateway::server::build_state(cfg).await?;
        svcflow_gateway::server::run(state).await
    };
    match started.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // stderr, not the log: the log may be JSON lines on stdout, and this line is read by
            // a person starting the gateway.
            eprintln!("svcflow-gateway: {e}");
            ExitCode::FAILURE
        }
    }
}
