//! The writers: text for people, JSON (one document) and NDJSON (one
//! `{"type": ...}` object per line, connections written as they end) for
//! machines.

use super::model::*;
use serde::Serialize;
use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Ndjson,
}

#[derive(Clone, Debug, Default)]
pub struct WriterOptions {
    /// Write every connection in the text format (otherwise a bounded list).
    pub verbose: bool,
    /// Use ANSI colour in the text format.
    pub color: bool,
}

/// Writes a report in one format. Connections go in as they end; the rest
/// comes at [`ReportWriter::finish`].
pub struct ReportWriter<W: Write> {
    out: W,
    format: Format,
    opts: WriterOptions,
    /// Held back for the formats that write connections after the header.
    held: Vec<ConnectionRecord>,
}

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    body: &'a T,
}

impl<W: Write> ReportWriter<W> {
    pub fn new(out: W, format: Format, opts: WriterOptions) -> Self {
        ReportWriter {
            out,
            format,
            opts,
            held: Vec::new(),
        }
    }

    pub fn connection(&mut self, rec: ConnectionRecord) -> io::Result<()> {
        match self.format {
            Format::Ndjson => self.line("connection", &rec),
            Format::Json | Format::Text => {
                self.held.push(rec);
                Ok(())
            }
        }
    }

    fn line<T: Serialize>(&mut self, kind: &str, body: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &Line { kind, body })?;
        self.out.write_all(b"\n")
    }

    pub fn finish(
        mut self,
        capture: CaptureInfo,
        servers: Vec<ServerRecord>,
        summary: Summary,
    ) -> io::Result<W> {
        match self.format {
            Format::Ndjson => {
                for s in &servers {
                    self.line("server", s)?;
                }
                self.line("capture", &capture)?;
                self.line("summary", &summary)?;
            }
            Format::Json => {
                let report = Report {
                    schema_version: SCHEMA_VERSION,
                    tool: ToolInfo::default(),
                    capture,
                    connections: std::mem::take(&mut self.held),
                    servers,
                    summary,
                };
                serde_json::to_writer_pretty(&mut self.out, &report)?;
                self.out.write_all(b"\n")?;
            }
            Format::Text => {
                let held = std::mem::take(&mut self.held);
                write_text(
                    &mut self.out,
                    &self.opts,
                    &capture,
                    &held,
                    &servers,
                    &summary,
                )?;
            }
        }
        self.out.flush()?;
        Ok(self.out)
    }
}

fn write_text<W: Write>(
    out: &mut W,
    _opts: &WriterOptions,
    capture: &CaptureInfo,
    conns: &[ConnectionRecord],
    servers: &[ServerRecord],
    summary: &Summary,
) -> io::Result<()> {
    let span = match (capture.first_ts, capture.last_ts) {
        (Some(a), Some(b)) => format!("{} to {}", a.rfc3339(), b.rfc3339()),
        _ => "empty".to_string(),
    };
    writeln!(out, "keepwatch report")?;
    writeln!(
        out,
        "capture: {} packets ({} TCP), {} bytes, {}",
        capture.packets, capture.tcp_packets, capture.bytes, span
    )?;
    writeln!(out, "connections: {}", summary.connections)?;
    for s in servers {
        writeln!(
            out,
            "server {}:{}  {} connections",
            s.server.ip, s.server.port, s.connections
        )?;
    }
    for c in conns {
        writeln!(
            out,
            "  #{} {}:{} -> {}:{}  {:.1} ms",
            c.id, c.client.ip, c.client.port, c.server.ip, c.server.port, c.duration_ms
        )?;
    }
    Ok(())
}
