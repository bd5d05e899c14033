//! The text report, for people: a header with the capture's span and
//! counts, a per-server table, the findings as sentences, and a compact
//! per-connection list (bounded unless verbose). ANSI colour only when
//! [`WriterOptions::color`] says so (the CLI decides from the terminal and
//! `NO_COLOR`).

use super::model::*;
use super::writer::WriterOptions;
use std::collections::BTreeMap;
use std::io::{self, Write};

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn heading(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn warn(&self, s: &str) -> String {
        self.paint("33", s)
    }
}

fn counts<K: Copy>(m: &BTreeMap<K, u64>, name: impl Fn(K) -> &'static str) -> String {
    if m.is_empty() {
        return "-".to_string();
    }
    let mut v: Vec<(K, u64)> = m.iter().map(|(k, n)| (*k, *n)).collect();
    v.sort_by_key(|b| std::cmp::Reverse(b.1));
    v.iter()
        .map(|(k, n)| format!("{} {n}", name(*k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn secs(ms: f64) -> String {
    format!("{:.2} s", ms / 1000.0)
}

pub(super) fn write_text<W: Write>(
    out: &mut W,
    opts: &WriterOptions,
    capture: &CaptureInfo,
    conns: &[ConnectionRecord],
    not_listed: u64,
    servers: &[ServerRecord],
    summary: &Summary,
) -> io::Result<()> {
    let st = Style { on: opts.color };
    writeln!(out, "{}", st.heading("keepwatch report"))?;
    match (capture.first_ts, capture.last_ts) {
        (Some(a), Some(b)) => writeln!(
            out,
            "capture      {} to {} ({})",
            a.rfc3339(),
            b.rfc3339(),
            secs(a.ms_until(b).max(0.0))
        )?,
        _ => writeln!(out, "capture      empty")?,
    }
    writeln!(
        out,
        "             {} packets ({} TCP), {} bytes, {} file{}",
        capture.packets,
        capture.tcp_packets,
        capture.bytes,
        capture.files.len(),
        if capture.files.len() == 1 { "" } else { "s" }
    )?;
    let s = summary;
    let filtered = if s.filtered_out > 0 {
        format!(" ({} more filtered out)", s.filtered_out)
    } else {
        String::new()
    };
    writeln!(
        out,
        "connections  {}{filtered}, {} exchanges ({:.1} per connection, max {}), {} reused",
        s.connections,
        s.exchanges,
        s.exchanges_per_connection.mean,
        s.exchanges_per_connection.max,
        pct(s.reuse_share)
    )?;
    writeln!(
        out,
        "closed by    {}",
        counts(&s.close_initiators, Sides::as_str)
    )?;
    writeln!(
        out,
        "reasons      {}",
        counts(&s.close_reasons, CloseReason::as_str)
    )?;
    writeln!(out, "TIME_WAIT    {}", counts(&s.time_wait, Sides::as_str))?;
    writeln!(
        out,
        "protocols    {}",
        counts(&s.protocols, Protocol::as_str)
    )?;
    writeln!(
        out,
        "races        {} ({} lost); missed reuse {}",
        plural(s.keepalive_races, "connection"),
        plural(s.lost_requests, "request"),
        s.missed_reuse
    )?;

    if !servers.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", st.heading("servers"))?;
        writeln!(
            out,
            "  {:<24} {:>6} {:>7} {:>6} {:>6}  {:<16} {:<18} {:>5} {:>6} {:>6}",
            "SERVER",
            "CONNS",
            "EXCH",
            "/CONN",
            "REUSED",
            "IDLE TIMEOUT",
            "KEEP-ALIVE",
            "RACES",
            "MISSED",
            "TW SRV"
        )?;
        let mut order: Vec<&ServerRecord> = servers.iter().collect();
        order.sort_by(|a, b| {
            b.connections
                .cmp(&a.connections)
                .then(a.server.cmp(&b.server))
        });
        let shown = if opts.verbose {
            order.len()
        } else {
            order.len().min(opts.text_max_servers)
        };
        for r in order.iter().take(shown) {
            let idle = r.idle_timeout.as_ref().map_or("-".to_string(), |it| {
                format!("{} ({})", secs(it.inferred_ms), it.closes)
            });
            let ka = &r.advertised_keep_alive;
            let adv = match (ka.timeout, ka.max) {
                (None, None) => "-".to_string(),
                (t, m) => {
                    let mut parts = Vec::new();
                    if let Some(t) = t {
                        parts.push(format!("timeout={t}"));
                    }
                    if let Some(m) = m {
                        parts.push(format!("max={m}"));
                    }
                    parts.join(" ")
                }
            };
            let tw: u64 = r
                .time_wait
                .iter()
                .filter(|(k, _)| k.has_server())
                .map(|(_, n)| n)
                .sum();
            let tw_share = if r.connections == 0 {
                0.0
            } else {
                tw as f64 / r.connections as f64
            };
            writeln!(
                out,
                "  {:<24} {:>6} {:>7} {:>6.1} {:>6}  {:<16} {:<18} {:>5} {:>6} {:>6}",
                r.server.to_string(),
                r.connections,
                r.exchanges,
                r.exchanges_per_connection.mean,
                pct(r.reuse_share),
                idle,
                adv,
                r.keepalive_races,
                r.missed_reuse,
                pct(tw_share)
            )?;
        }
        if shown < order.len() {
            writeln!(
                out,
                "  ... {} more servers (--verbose for all)",
                order.len() - shown
            )?;
        }
    }

    writeln!(out)?;
    writeln!(out, "{}", st.heading("findings"))?;
    if s.findings.is_empty() {
        writeln!(out, "  nothing to report")?;
    }
    for f in &s.findings {
        writeln!(out, "  {} {}", st.warn("*"), f.message)?;
    }
    if s.findings_omitted > 0 {
        writeln!(
            out,
            "  ... {} more findings (see the JSON output)",
            s.findings_omitted
        )?;
    }

    if !conns.is_empty() {
        writeln!(out)?;
        let total = conns.len() as u64 + not_listed;
        let title = if not_listed > 0 {
            format!(
                "connections (first {} of {total}; --verbose for all)",
                conns.len()
            )
        } else {
            format!("connections ({total})")
        };
        writeln!(out, "{}", st.heading(&title))?;
        for c in conns {
            let idle = c.idle_max_ms.map_or("-".to_string(), secs);
            let closed = match (c.close.initiator, c.close.by) {
                (Sides::None, _) => "not closed".to_string(),
                (who, by) => {
                    let mut s = format!(
                        "{} {}",
                        who.as_str(),
                        match by {
                            CloseBy::Fin => "fin",
                            CloseBy::Rst => "rst",
                            CloseBy::None => "-",
                        }
                    );
                    if let Some(idle) = c.close.idle_before_ms {
                        s.push_str(&format!(" after {} idle", secs(idle)));
                    }
                    s
                }
            };
            let flags: Vec<&str> = c.flags.iter().map(|f| f.as_str()).collect();
            writeln!(
                out,
                "  #{:<6} {} -> {}  {} exch  idle max {}  {}  {}  {}",
                c.id,
                c.client,
                c.server,
                c.requests,
                idle,
                closed,
                c.close.reason.as_str(),
                if flags.is_empty() {
                    "-".to_string()
                } else {
                    flags.join(",")
                }
            )?;
        }
    }
    Ok(())
}
