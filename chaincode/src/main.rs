//! `svcflow-chaincode serve` runs the chaincode as a service (the peer dials it).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use svcflow_chaincode::{contract, shim};

const USAGE: &str = "usage:
  svcflow-chaincode serve
      env CHAINCODE_ID (package id), CHAINCODE_SERVER_ADDRESS (ip:port),
          optional CHAINCODE_TLS_CERT, CHAINCODE_TLS_KEY, CHAINCODE_TLS_CLIENT_CA (PEM files),
          CHAINCODE_PEER_MSP_ID (the org whose peers dial this server: a phase's data is read
          from that org's copy), RUST_LOG";

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let fmt = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        fmt.init();
    } else {
        fmt.json().flatten_event(true).with_current_span(true).init();
    }
}

async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        }
        _ => std::future::pending::<()>().await,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => {
            init_logs();
            let cfg = match shim::ServerConfig::from_env() {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "bad configuration");
                    return ExitCode::from(2);
                }
            };
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the runtime");
                    return ExitCode::FAILURE;
                }
            };
            let result = rt.block_on(shim::serve(cfg, contract::Svcflow, terminated()));
            // Streams are closed; don't wait on anything else that lingers.
            rt.shutdown_timeout(Duration::from_secs(2));
            match result {
                Ok(()) => {
                    tracing::info!("stopped");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    tracing::error!(error = %e, "chaincode server failed");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
