//! The writers: text for people, JSON (one document) and NDJSON (one
//! `{"type": ...}` object per line, connections written as they end) for
//! machines.
//!
//! NDJSON order: one `header` line (`schema_version`, `tool`), then a
//! `connection` line per connection as it ends (end-time order, so a
//! consumer can stream), then the `server` lines, a `capture` line and the
//! final `summary` line; live capture adds interim `connection` lines
//! (`"final": false`) and `stats` lines ([`ReportWriter::typed_line`]),
//! all after the header. The JSON format holds the connections until the end
//! and writes one [`Report`]; the text format holds at most
//! [`WriterOptions::text_max_connections`] of them unless verbose.
//!
//! NDJSON `connection` lines, nearly all of the output, are written by hand
//! (`json_fast.rs`), byte for byte what serde writes for them; every other
//! line and the JSON document go through serde.

use super::json_fast::{put_u64, ConnectionJson, ID_PLACEHOLDER, REFINABLE_REASON, REFINED_REASON};
use super::model::*;
use super::text::write_text;
use serde::Serialize;
use std::io::{self, IoSlice, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Ndjson,
}

/// How much per-exchange detail the JSON formats write (`--exchanges`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExchangeDetail {
    /// No `exchanges` list and no `exchange_summary`.
    None,
    /// `exchange_summary` only.
    Summary,
    /// Both (the default).
    #[default]
    All,
}

impl std::str::FromStr for ExchangeDetail {
    type Err = String;
    /// `none`, `summary` or `all`, as `--exchanges` takes them.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(ExchangeDetail::None),
            "summary" => Ok(ExchangeDetail::Summary),
            "all" => Ok(ExchangeDetail::All),
            _ => Err(format!("{s:?}: expected none, summary or all")),
        }
    }
}

/// NDJSON bytes gathered before they are written to the output.
const PENDING_BYTES: usize = 64 << 10;

/// Connections listed by the text format unless verbose.
pub const TEXT_MAX_CONNECTIONS: usize = 50;
/// Servers in the text format's table unless verbose.
pub const TEXT_MAX_SERVERS: usize = 30;

#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Write every connection in the text format (otherwise a bounded list).
    pub verbose: bool,
    /// Use ANSI colour in the text format.
    pub color: bool,
    /// Per-exchange detail in JSON and NDJSON.
    pub exchanges: ExchangeDetail,
    /// Connections listed by the text format when not verbose.
    pub text_max_connections: usize,
    /// Servers in the text format's table when not verbose (most
    /// connections first).
    pub text_max_servers: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            verbose: false,
            color: false,
            exchanges: ExchangeDetail::All,
            text_max_connections: TEXT_MAX_CONNECTIONS,
            text_max_servers: TEXT_MAX_SERVERS,
        }
    }
}

/// Writes a report in one format. Connections go in as they end; the rest
/// comes at [`ReportWriter::finish`].
pub struct ReportWriter<W: Write> {
    out: W,
    format: Format,
    opts: WriterOptions,
    /// Held back for the formats that write connections after the header.
    held: Vec<ConnectionRecord>,
    /// Connections the text format did not hold.
    not_held: u64,
    header_written: bool,
    /// NDJSON lines not yet written out, serialized straight into this
    /// buffer and handed to `out` in [`PENDING_BYTES`] pieces: serde makes
    /// many tiny writes, cheap into a `Vec` and costly through a
    /// `dyn Write`, and pieces larger than a `BufWriter`'s buffer go past
    /// it without a second copy. [`ReportWriter::flush`] writes them out.
    pending: Vec<u8>,
    /// Scratch for connection ids, and where each ends.
    id_buf: Vec<u8>,
    id_ends: Vec<usize>,
    /// Writes NDJSON connection lines without serde (see `json_fast.rs`).
    connection_json: ConnectionJson,
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
            not_held: 0,
            header_written: false,
            pending: Vec::new(),
            id_buf: Vec::new(),
            id_ends: Vec::new(),
            connection_json: ConnectionJson::new(),
        }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// NDJSON: writes the line of `rec`, borrowed (the exchange detail is
    /// applied as it is serialized). [`Session`](crate::analyzer::Session)
    /// writes each record so, where it was built: moved by value on its way
    /// here, a record (about a kilobyte) was copied four times, 1.5 % of a
    /// `short` run's instructions.
    pub(crate) fn connection_line(&mut self, rec: &ConnectionRecord) -> io::Result<()> {
        self.header()?;
        let detail = self.opts.exchanges;
        self.connection_json
            .write(&mut self.pending, rec, Some(rec.id), detail);
        self.pending.push(b'\n');
        self.spill()
    }

    /// One finished connection, or an interim record (`final_ == false`),
    /// which only NDJSON carries: the JSON document and the text report
    /// hold final records only.
    pub fn connection(&mut self, mut rec: ConnectionRecord) -> io::Result<()> {
        if !rec.final_ && self.format != Format::Ndjson {
            return Ok(());
        }
        match self.opts.exchanges {
            ExchangeDetail::All => {}
            ExchangeDetail::Summary => rec.exchanges = None,
            ExchangeDetail::None => {
                rec.exchanges = None;
                rec.exchange_summary = None;
            }
        }
        match self.format {
            Format::Ndjson => self.connection_line(&rec),
            Format::Json => {
                self.held.push(rec);
                Ok(())
            }
            Format::Text => {
                if self.opts.verbose || self.held.len() < self.opts.text_max_connections {
                    rec.exchanges = None;
                    self.held.push(rec);
                } else {
                    self.not_held += 1;
                }
                Ok(())
            }
        }
    }

    /// For NDJSON, the exchange detail a worker thread needs to serialize
    /// connection lines itself ([`connection_line`]); `None` for the
    /// formats that hold records.
    pub(crate) fn ndjson_detail(&self) -> Option<ExchangeDetail> {
        (self.format == Format::Ndjson).then_some(self.opts.exchanges)
    }

    /// Writes connection lines made by [`connection_line`], in order, each
    /// with its id in place of the placeholder and, when refined, its
    /// close reason replaced, without copying them: what is pending goes
    /// out first, then the lines in vectored writes (head, id, tail each,
    /// the tail cut around the reason). The `--threads` merge writes each
    /// round's lines from the workers' buffers so.
    pub(crate) fn connection_lines_raw(&mut self, lines: &[RawLine<'_>]) -> io::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        self.header()?;
        self.id_buf.clear();
        self.id_ends.clear();
        for l in lines {
            put_u64(&mut self.id_buf, l.id);
            self.id_ends.push(self.id_buf.len());
        }
        let mut slices = Vec::with_capacity(3 * lines.len());
        let mut from = 0;
        for (l, &to) in lines.iter().zip(&self.id_ends) {
            let (head, tail) = l.line.split_at(l.id_at.min(l.line.len()));
            let tail_at = l.id_at.saturating_add(ID_PLACEHOLDER.len());
            let tail = tail.get(ID_PLACEHOLDER.len()..).unwrap_or_default();
            slices.push(IoSlice::new(head));
            slices.push(IoSlice::new(self.id_buf.get(from..to).unwrap_or_default()));
            match l.refined_at.and_then(|r| r.checked_sub(tail_at)) {
                Some(r) => {
                    let (mid, rest) = tail.split_at(r.min(tail.len()));
                    slices.push(IoSlice::new(mid));
                    slices.push(IoSlice::new(REFINED_REASON));
                    slices.push(IoSlice::new(
                        rest.get(REFINABLE_REASON.len()..).unwrap_or_default(),
                    ));
                }
                None => slices.push(IoSlice::new(tail)),
            }
            from = to;
        }
        let r = self.out.write_all(&self.pending);
        self.pending.clear();
        r?;
        write_all_vectored(&mut self.out, &mut slices)
    }

    /// An NDJSON line of another type (`{"type": kind, ...body}`, e.g. live
    /// capture's `stats`), after the `header` line like every other line.
    /// Not flushed. Other formats have no lines: `InvalidInput`, nothing
    /// written.
    pub fn typed_line<T: Serialize>(&mut self, kind: &str, body: &T) -> io::Result<()> {
        if self.format != Format::Ndjson {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "typed lines exist in the ndjson format only",
            ));
        }
        self.line(kind, body)
    }

    /// The output. Lines may still be pending: [`ReportWriter::flush`]
    /// first to see all of them there.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the `header` line unless written already.
    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            let header = HeaderLine {
                schema_version: SCHEMA_VERSION,
                tool: ToolInfo::default(),
            };
            self.line("header", &header)?;
        }
        Ok(())
    }

    fn line<T: Serialize>(&mut self, kind: &str, body: &T) -> io::Result<()> {
        self.header()?;
        let start = self.pending.len();
        if let Err(e) = serde_json::to_writer(&mut self.pending, &Line { kind, body }) {
            self.pending.truncate(start);
            return Err(e.into());
        }
        self.pending.push(b'\n');
        self.spill()
    }

    /// Writes out the pending lines once there are enough of them.
    fn spill(&mut self) -> io::Result<()> {
        if self.pending.len() >= PENDING_BYTES {
            self.write_pending()?;
        }
        Ok(())
    }

    fn write_pending(&mut self) -> io::Result<()> {
        let r = self.out.write_all(&self.pending);
        self.pending.clear();
        r
    }

    /// Writes out every line so far and flushes the output: live capture
    /// calls it as records come, so they reach a pipeline at once.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_pending()?;
        self.out.flush()
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
                // A local buffer: serde's many tiny writes stay cheap
                // whatever `W` is (see `pending`).
                let mut out = io::BufWriter::with_capacity(1 << 16, &mut self.out);
                serde_json::to_writer_pretty(&mut out, &report)?;
                out.flush()?;
                drop(out);
                self.out.write_all(b"\n")?;
            }
            Format::Text => {
                let held = std::mem::take(&mut self.held);
                write_text(
                    &mut self.out,
                    &self.opts,
                    &capture,
                    &held,
                    self.not_held,
                    &servers,
                    &summary,
                )?;
            }
        }
        self.write_pending()?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Appends to `buf` the NDJSON line (newline included) that
/// [`ReportWriter::connection`] writes for `rec`, except that the
/// connection id is a placeholder ([`ID_PLACEHOLDER`]) whose offset from the
/// start of the line is returned: worker threads serialize lines before the
/// merge knows the final id. `json` is reused from line to line (it caches
/// the last timestamp's text).
pub(crate) fn connection_line(
    json: &mut ConnectionJson,
    rec: &ConnectionRecord,
    detail: ExchangeDetail,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    let start = buf.len();
    let at = json.write(buf, rec, None, detail);
    buf.push(b'\n');
    Ok(at - start)
}

/// A connection line for [`ReportWriter::connection_lines_raw`].
#[derive(Clone, Copy)]
pub(crate) struct RawLine<'a> {
    /// Made by [`connection_line`].
    pub line: &'a [u8],
    /// Where the id placeholder starts in it.
    pub id_at: usize,
    pub id: u64,
    /// Where its close reason starts, [`REFINABLE_REASON`], when
    /// [`super::Aggregator::refine`] turned that into [`REFINED_REASON`].
    pub refined_at: Option<usize>,
}

/// Where the line that [`connection_line`] just wrote with `json` from
/// `start` of `buf` holds a close reason that
/// [`super::Aggregator::refine`] may change, from the line's start.
pub(crate) fn refinable_at(json: &ConnectionJson, buf: &[u8], start: usize) -> Option<usize> {
    let at = json.reason_at();
    buf.get(at..)?
        .starts_with(REFINABLE_REASON)
        .then_some(at.checked_sub(start)?)
}

/// The serde path that [`connection_line`] replaced, kept as the reference
/// the equivalence tests compare the hand-written lines against.
#[cfg(test)]
pub(crate) fn connection_line_serde(
    rec: &mut ConnectionRecord,
    detail: ExchangeDetail,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    let id = std::mem::replace(&mut rec.id, u64::MAX);
    let exchanges = match detail {
        ExchangeDetail::All => None,
        ExchangeDetail::Summary | ExchangeDetail::None => rec.exchanges.take(),
    };
    let summary = match detail {
        ExchangeDetail::None => rec.exchange_summary.take(),
        _ => None,
    };
    buf.clear();
    let r = serde_json::to_writer(
        &mut *buf,
        &Line {
            kind: "connection",
            body: &*rec,
        },
    );
    rec.id = id;
    if exchanges.is_some() {
        rec.exchanges = exchanges;
    }
    if summary.is_some() {
        rec.exchange_summary = summary;
    }
    r?;
    buf.push(b'\n');
    let key = b"\"id\":";
    buf.windows(key.len() + ID_PLACEHOLDER.len())
        .position(|w| w.starts_with(key) && w.ends_with(ID_PLACEHOLDER))
        .map(|p| p + key.len())
        .ok_or_else(|| io::Error::other("connection id not found in its line"))
}

/// `Write::write_all_vectored`, which is not stable yet.
fn write_all_vectored(out: &mut impl Write, mut bufs: &mut [IoSlice<'_>]) -> io::Result<()> {
    IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match out.write_vectored(bufs) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Takes at most 7 bytes per call, from the first buffer only (the
    /// default `write_vectored`), and is interrupted every third call.
    struct Trickle {
        out: Vec<u8>,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls % 3 == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(7);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn vectored_lines_equal_the_patched_ones_through_short_writes() {
        let line = |tail: &str| {
            let mut l = b"{\"type\":\"connection\",\"id\":".to_vec();
            let at = l.len();
            l.extend_from_slice(ID_PLACEHOLDER);
            l.extend_from_slice(tail.as_bytes());
            (l, at)
        };
        let lines = [line(",\"a\":1}\n"), line("}\n"), line(",\"b\":[2,3]}\n")];
        let ids = [1u64, 42, 18_446_744_073_709_551_615];
        let writer = || {
            let out = Trickle {
                out: Vec::new(),
                calls: 0,
            };
            ReportWriter::new(out, Format::Ndjson, WriterOptions::default())
        };
        // What the lines must become: the header line, then each line with
        // its id patched in by hand.
        let mut w = writer();
        w.header().unwrap();
        w.flush().unwrap();
        let mut patched = std::mem::take(&mut w.get_mut().out);
        for ((l, at), id) in lines.iter().zip(ids) {
            patched.extend_from_slice(&l[..*at]);
            patched.extend_from_slice(id.to_string().as_bytes());
            patched.extend_from_slice(&l[at + ID_PLACEHOLDER.len()..]);
        }
        let text = String::from_utf8(patched.clone()).unwrap();
        assert!(text.contains("\"id\":42}\n"), "{text}");
        assert!(text.starts_with("{\"type\":\"header\""), "{text}");
        let mut w = writer();
        let v: Vec<RawLine<'_>> = lines
            .iter()
            .zip(ids)
            .map(|((l, at), id)| RawLine {
                line: &l[..],
                id_at: *at,
                id,
                refined_at: None,
            })
            .collect();
        w.connection_lines_raw(&v[..1]).unwrap();
        w.connection_lines_raw(&v[1..]).unwrap();
        w.flush().unwrap();
        assert_eq!(std::mem::take(&mut w.get_mut().out), patched);
    }
}
