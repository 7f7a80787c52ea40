//! Logs (human-readable by default, JSON on request; `RUST_LOG` filters) and metrics.

mod metrics;

use std::io::{BufWriter, IsTerminal};
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

pub use metrics::{Metrics, method_label};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// What the writer thread gathers before one write: about 300 access lines, so a busy
/// server costs the kernel one write per few hundred requests rather than per few dozen.
const WRITE_BUFFER: usize = 64 * 1024;

/// Lines that may wait for the writer thread. The queue's slots are allocated up front
/// (32 bytes each): 32k lines cost 1 MiB of memory whether used or not, where the
/// library's default of 128k cost 4 MiB of an idle server's 19. 32k lines are several
/// seconds of a busy server's access lines with the default `--access-log changes`.
const QUEUED_LINES: usize = 32 * 1024;

/// How many log lines the writer thread had to drop; `None` before [`init`].
static DROPPED_LINES: OnceLock<ErrorCounter> = OnceLock::new();

/// Keeps the log writer's thread; dropping it (at the end of `main`) writes out what is
/// still buffered.
#[must_use = "logs are lost unless the guard lives until the process ends"]
pub struct LogGuard {
    _worker: WorkerGuard,
}

/// Installs the global subscriber, writing to stdout.
///
/// Lines are formatted where they happen and handed to a thread of their own, which
/// writes them in batches (one write for all the lines waiting): the access log's line
/// per request costs the request no system call, and a slow pipe or terminal never
/// holds a request up. Should the writer fall [`QUEUED_LINES`] lines behind, further lines are
/// dropped and counted (`sesame_log_lines_dropped_total`) rather than slowing requests.
/// Where log lines go: the server logs to standard output; a one-shot command to
/// standard error, so that what it prints (an API key, an export) stays apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSink {
    Stdout,
    Stderr,
}

pub fn init(format: LogFormat, sink: LogSink) -> LogGuard {
    let out: Box<dyn std::io::Write + Send> = match sink {
        LogSink::Stdout => Box::new(std::io::stdout()),
        LogSink::Stderr => Box::new(std::io::stderr()),
    };
    let (writer, worker) = NonBlockingBuilder::default()
        .thread_name("sesame-log")
        .buffered_lines_limit(QUEUED_LINES)
        .finish(BufWriter::with_capacity(WRITE_BUFFER, out));
    let _ = DROPPED_LINES.set(writer.error_counter());
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(std::io::stdout().is_terminal());
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_span_list(false)
            .try_init(),
    };
    // A subscriber already installed (a test harness, say) keeps its place.
    drop(result);
    LogGuard { _worker: worker }
}

/// Log lines dropped so far because the writer thread fell behind.
pub fn dropped_log_lines() -> u64 {
    DROPPED_LINES
        .get()
        .map_or(0, |counter| counter.dropped_lines() as u64)
}
