use clap::Parser;

use sesame::cli::{self, Cli};
use sesame::telemetry::LogSink;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let sink = match cli.command {
        cli::Command::Serve(_) => LogSink::Stdout,
        _ => LogSink::Stderr,
    };
    let _logs = sesame::telemetry::init(cli.log_format, sink);
    match cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
