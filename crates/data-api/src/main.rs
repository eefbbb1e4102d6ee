//! The `hybrid-data-api` binary: reads the configuration from the environment (see
//! docs/ARCHITECTURE.md), listens, and shuts down gracefully on SIGTERM or SIGINT, finishing
//! in-flight requests. Logs are one line per event on stderr.

use std::process::ExitCode;

use data_api::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            tracing::error!(code = e.code, "{}", e.message);
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(
                code = "listen_failed",
                "cannot listen on {} (DATA_API_LISTEN): {e}",
                config.listen
            );
            return ExitCode::from(2);
        }
    };
    tracing::info!(listen = %config.listen, "hybrid-data-api listening");
    match data_api::serve(config, listener, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("hybrid-data-api stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(code = e.code, "{}", e.message);
            ExitCode::FAILURE
        }
    }
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => tracing::info!("SIGINT received; finishing in-flight requests"),
        _ = terminate => tracing::info!("SIGTERM received; finishing in-flight requests"),
    }
}
