//! The live side of the command: `-i` (capture an interface, streaming
//! records as connections end), `-D` (list interfaces) and `-f` on files.
//! Everything that needs libpcap is behind the `live` feature; without it
//! these answer with how to build it, exit code 2 (a usage error: the
//! option exists, this build cannot honour it).
//!
//! The loop here is the only place that reads the wall clock, and only for
//! `--duration` and `--stats-interval`; the engine ([`keepwatch::Session`])
//! sees packet timestamps only, so the report of a live capture equals the
//! report of its `-w` file.

use keepwatch::capture::Frame;

/// A frame filter for [`keepwatch::analyze_files_filtered`].
pub type FileFilter = Box<dyn FnMut(&Frame<'_>) -> Result<bool, String>>;

pub use imp::{file_filter, list_interfaces, run};

#[cfg(not(feature = "live"))]
mod imp {
    use super::FileFilter;
    use crate::cli::Args;
    use std::process::ExitCode;

    const NEEDS_FEATURE: &str = "live capture (-i, -D) and BPF filters (-f) need the `live` \
         feature: install libpcap-dev (apt-get install libpcap-dev), then \
         `cargo install --path . --features live`";

    /// `-D`: print the interfaces.
    pub fn list_interfaces() -> ExitCode {
        eprintln!("keepwatch: {NEEDS_FEATURE}");
        ExitCode::from(2)
    }

    /// `-i IFACE`: capture until stopped.
    pub fn run(_args: &Args) -> ExitCode {
        eprintln!("keepwatch: {NEEDS_FEATURE}");
        ExitCode::from(2)
    }

    /// `-f EXPR` with files: the filter, or the exit code when it cannot be.
    pub fn file_filter(args: &Args) -> Result<Option<FileFilter>, ExitCode> {
        if args.filter.is_some() {
            eprintln!("keepwatch: {NEEDS_FEATURE}");
            return Err(ExitCode::from(2));
        }
        Ok(None)
    }
}

#[cfg(feature = "live")]
mod imp {
    use super::FileFilter;
    use crate::cli::Args;
    use keepwatch::capture::live::{
        self, BpfFilter, LiveCapture, LiveConfig, LiveError, LiveEvent,
    };
    use keepwatch::capture::MAX_RECORD_BYTES;
    use keepwatch::report::{Format, PcapStats, ReportWriter, StatsLine};
    use keepwatch::time::Timestamp;
    use keepwatch::Session;
    use std::io::{self, IsTerminal, Write};
    use std::process::ExitCode;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// Exit status when a second SIGINT ends the process at once (the
    /// shell's 128 + signal number).
    const EXIT_SECOND_SIGINT: i32 = 130;

    pub fn list_interfaces() -> ExitCode {
        match live::interfaces() {
            Ok(list) => {
                let mut out = io::stdout().lock();
                match out.write_all(live::format_interfaces(&list).as_bytes()) {
                    Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                        eprintln!("keepwatch: {e}");
                        ExitCode::from(1)
                    }
                    _ => ExitCode::SUCCESS,
                }
            }
            Err(e) => {
                eprintln!("keepwatch: {e}");
                ExitCode::from(1)
            }
        }
    }

    pub fn file_filter(args: &Args) -> Result<Option<FileFilter>, ExitCode> {
        Ok(args.filter.as_deref().map(|expr| {
            let mut f = BpfFilter::new(expr);
            Box::new(move |frame: &keepwatch::capture::Frame<'_>| {
                f.matches(frame).map_err(|e| e.to_string())
            }) as FileFilter
        }))
    }

    /// How often, in capture time, open connections are checked for
    /// `--idle-report`: the check walks the idle connections, so it is not
    /// done per packet.
    const IDLE_CHECK_EVERY: Duration = Duration::from_secs(1);

    /// Resident set size: `VmRSS` is in kB, which spares us the page size
    /// that /proc/self/statm counts in.
    fn rss_bytes() -> Option<u64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        kb.checked_mul(1024)
    }

    enum Stop {
        Signal,
        Duration,
        Count,
    }

    impl Stop {
        fn as_str(&self) -> &'static str {
            match self {
                Stop::Signal => "stopped by signal",
                Stop::Duration => "--duration reached",
                Stop::Count => "--count reached",
            }
        }
    }

    enum LoopError {
        Output(io::Error),
        Capture(LiveError),
    }

    fn seconds(name: &str, v: f64) -> Result<Duration, String> {
        if v.is_finite() && v > 0.0 && v < 1e12 {
            Ok(Duration::from_secs_f64(v))
        } else {
            Err(format!(
                "{name} must be a positive number of seconds, not {v}"
            ))
        }
    }

    struct Settings {
        snaplen: u32,
        duration: Option<Duration>,
        count: Option<u64>,
        stats_interval: Option<Duration>,
        /// Connections idle (capture time) for longer get an interim
        /// `"final": false` record, once per idle period.
        idle_report: Duration,
    }

    fn settings(args: &Args) -> Result<Settings, String> {
        let snaplen = args.live.snaplen;
        if snaplen == 0 || snaplen > MAX_RECORD_BYTES {
            // A larger record would make the -w file unreadable by the
            // file reader (and by Wireshark, whose limit this is).
            return Err(format!(
                "--snaplen must be between 1 and {MAX_RECORD_BYTES}, not {snaplen}"
            ));
        }
        Ok(Settings {
            snaplen,
            duration: args
                .live
                .duration
                .map(|d| seconds("--duration", d))
                .transpose()?,
            count: args.live.count,
            stats_interval: args
                .live
                .stats_interval
                .map(|d| seconds("--stats-interval", d))
                .transpose()?,
            idle_report: seconds("--idle-report", args.live.idle_report)?,
        })
    }

    fn install_signal_handlers(stop: &Arc<AtomicBool>) -> io::Result<()> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        use signal_hook::flag;
        // Registered first, so it sees the flag as the previous SIGINT left
        // it: the second SIGINT exits at once.
        flag::register_conditional_shutdown(SIGINT, EXIT_SECOND_SIGINT, Arc::clone(stop))?;
        flag::register(SIGINT, Arc::clone(stop))?;
        flag::register(SIGTERM, Arc::clone(stop))?;
        Ok(())
    }

    pub fn run(args: &Args) -> ExitCode {
        let Some(interface) = args.interface.as_deref() else {
            return ExitCode::from(2);
        };
        if !args.files.is_empty() {
            eprintln!("keepwatch: -i captures live and reads no files; give one or the other");
            return ExitCode::from(2);
        }
        let settings = match settings(args) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("keepwatch: {e}");
                return ExitCode::from(2);
            }
        };
        let stop = Arc::new(AtomicBool::new(false));
        if let Err(e) = install_signal_handlers(&stop) {
            eprintln!("keepwatch: cannot install signal handlers: {e}");
            return ExitCode::from(1);
        }
        let mut cfg = LiveConfig::new(interface);
        cfg.snaplen = settings.snaplen;
        cfg.promisc = !args.live.no_promisc;
        cfg.buffer_size = args.live.buffer_size;
        cfg.filter = args.filter.clone();
        cfg.save = args.live.write.clone();
        let mut cap = match LiveCapture::open(&cfg) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("keepwatch: {e}");
                return ExitCode::from(1);
            }
        };
        let out = match crate::open_output(args) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("keepwatch: {e}");
                return ExitCode::from(1);
            }
        };
        let terminal = args.output.is_none() && io::stdout().is_terminal();
        let format = args.output_format(terminal);
        let writer = ReportWriter::new(out, format, crate::writer_options(args));
        let mut session = Session::new(args.config(), writer);
        if !args.quiet {
            eprintln!(
                "keepwatch: listening on {}, link-type {}, snapshot length {} bytes; \
                 Ctrl-C or SIGTERM stops and writes the summary",
                cap.interface(),
                cap.link().0,
                cfg.snaplen
            );
        }
        let started = Instant::now();
        let mut stats = StatsWriter {
            ndjson: format == Format::Ndjson,
            started,
        };
        let result = capture_loop(
            &mut cap,
            &mut session,
            &mut stats,
            &settings,
            &stop,
            started,
        );
        let mut code = ExitCode::SUCCESS;
        let mut why = "read error";
        match &result {
            Ok(stop) => why = stop.as_str(),
            Err(LoopError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
                // The reader went away: nothing more can be said.
                return ExitCode::SUCCESS;
            }
            Err(LoopError::Output(e)) => {
                eprintln!("keepwatch: {e}");
                return ExitCode::from(1);
            }
            Err(LoopError::Capture(e)) => {
                eprintln!("keepwatch: {e}");
                code = ExitCode::from(1);
            }
        }
        let counters = cap.counters();
        if let Err(e) = cap.flush_save() {
            eprintln!("keepwatch: {e}");
            code = ExitCode::from(1);
        }
        session.capture_mut().pcap_stats = counters;
        let packets = session.analyzer().capture().packets;
        let finished = (|| -> io::Result<()> {
            if settings.stats_interval.is_some() {
                stats.write(&mut session, counters, true)?;
            }
            let mut out = session.finish()?;
            out.flush()
        })();
        match finished {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("keepwatch: {e}");
                return ExitCode::from(1);
            }
            Ok(()) => {}
        }
        if !args.quiet {
            let c = counters.unwrap_or_default();
            eprintln!(
                "keepwatch: {why}: {packets} packets captured, {} received by filter, \
                 {} dropped by kernel, {} dropped by interface",
                c.received, c.dropped, c.if_dropped
            );
        }
        code
    }

    struct StatsWriter {
        ndjson: bool,
        started: Instant,
    }

    impl StatsWriter {
        fn write<W: Write>(
            &mut self,
            session: &mut Session<W>,
            pcap: Option<PcapStats>,
            last: bool,
        ) -> io::Result<()> {
            let a = session.analyzer();
            let line = StatsLine {
                final_: last,
                elapsed_ms: self.started.elapsed().as_secs_f64() * 1e3,
                last_ts: a.capture().last_ts,
                packets: a.capture().packets,
                tcp_packets: a.capture().tcp_packets,
                connections_open: u64::try_from(a.open_connections()).unwrap_or(u64::MAX),
                pcap,
                rss_bytes: rss_bytes(),
            };
            if self.ndjson {
                // Through the report writer, so the header comes first even
                // when a stats line is due before any connection ended.
                session.writer_mut().typed_line("stats", &line)?;
                session.writer_mut().flush()
            } else {
                // One JSON document or a text report: keep it clean.
                let mut text = serde_json::to_vec(&line)?;
                text.push(b'\n');
                let mut err = io::stderr().lock();
                let _ = err.write_all(&text);
                Ok(())
            }
        }
    }

    fn capture_loop<W: Write>(
        cap: &mut LiveCapture,
        session: &mut Session<W>,
        stats: &mut StatsWriter,
        settings: &Settings,
        stop: &AtomicBool,
        started: Instant,
    ) -> Result<Stop, LoopError> {
        let mut seen: u64 = 0;
        let mut idle_checked: Option<Timestamp> = None;
        let mut next_stats = settings.stats_interval.map(|i| started + i);
        loop {
            if stop.load(Ordering::Relaxed) {
                return Ok(Stop::Signal);
            }
            let now = Instant::now();
            if settings
                .duration
                .is_some_and(|d| now.duration_since(started) >= d)
            {
                return Ok(Stop::Duration);
            }
            if let (Some(due), Some(interval)) = (next_stats, settings.stats_interval) {
                if now >= due {
                    let counters = cap.counters();
                    stats
                        .write(&mut *session, counters, false)
                        .map_err(LoopError::Output)?;
                    // Skip missed ticks rather than bursting after a stall.
                    let mut next = due + interval;
                    while next <= now {
                        next += interval;
                    }
                    next_stats = Some(next);
                }
            }
            // Capture time, not the wall clock: a quiet interface produces
            // no interim records, as a replay of the -w file would not.
            if let Some(now) = session.analyzer().capture().last_ts {
                let step = i64::try_from(IDLE_CHECK_EVERY.as_nanos()).unwrap_or(i64::MAX);
                if idle_checked.is_none_or(|t| now.nanos() >= t.nanos().saturating_add(step)) {
                    idle_checked = Some(now);
                    if session
                        .interim(settings.idle_report)
                        .map_err(LoopError::Output)?
                        > 0
                    {
                        session.writer_mut().flush().map_err(LoopError::Output)?;
                    }
                }
            }
            match cap.read().map_err(LoopError::Capture)? {
                LiveEvent::Frame(frame) => {
                    seen = seen.saturating_add(1);
                    if session.process(&frame).map_err(LoopError::Output)? > 0 {
                        session.writer_mut().flush().map_err(LoopError::Output)?;
                    }
                    if settings.count.is_some_and(|c| seen >= c) {
                        return Ok(Stop::Count);
                    }
                }
                LiveEvent::Timeout => {}
            }
        }
    }
}
