//! Logging on Workers: `tracing` events as one JSON object per line on the
//! console (`console.error/warn/info/debug` by level), which `wrangler dev`,
//! `wrangler tail` and Workers Logs pick up. No timestamps (std::time panics
//! on wasm; the runtime stamps console lines itself) and a fixed INFO level:
//! the workspace's env-filter would pull regex into the bundle.
//!
//! The console writer is a few lines here rather than `tracing-web`'s, which
//! passes the formatter's trailing newline on (a blank line after each entry).

use std::io;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;
use worker::web_sys::console;

/// Installs the global subscriber; called once per isolate from `#[event(start)]`.
pub fn init() {
    let fmt_layer = tracing_subscriber::fmt::layer()
        .json()
        .with_ansi(false)
        .without_time()
        .with_current_span(false)
        .with_span_list(false)
        .with_writer(MakeConsoleWriter);
    // A second call (never expected) leaves the first subscriber in place.
    let _ = tracing_subscriber::registry().with(fmt_layer).with(LevelFilter::INFO).try_init();
}

/// Makes one [`ConsoleLine`] per event, remembering the event's level.
struct MakeConsoleWriter;

impl<'a> MakeWriter<'a> for MakeConsoleWriter {
    type Writer = ConsoleLine;

    fn make_writer(&'a self) -> ConsoleLine {
        ConsoleLine { level: Level::INFO, buf: Vec::new() }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> ConsoleLine {
        ConsoleLine { level: *meta.level(), buf: Vec::new() }
    }
}

/// Collects one formatted event and hands it to the console when dropped.
struct ConsoleLine {
    level: Level,
    buf: Vec<u8>,
}

impl io::Write for ConsoleLine {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ConsoleLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buf);
        let line = text.trim_end_matches(['\n', '\r']);
        if line.is_empty() {
            return;
        }
        let value = line.into();
        match self.level {
            Level::ERROR => console::error_1(&value),
            Level::WARN => console::warn_1(&value),
            Level::INFO => console::info_1(&value),
            _ => console::debug_1(&value),
        }
    }
}
