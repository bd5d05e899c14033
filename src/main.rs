//! The `keepwatch` command: parse options, run the library, map the outcome
//! to an exit code (0 success, 1 input errors, 2 usage errors).

mod cli;
mod live_cmd;

use clap::Parser;
use keepwatch::capture::Severity;
use keepwatch::report::{ReportWriter, WriterOptions};
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if args.live.list_interfaces {
        return live_cmd::list_interfaces();
    }
    if args.interface.is_some() {
        return live_cmd::run(&args);
    }
    if args.files.is_empty() {
        eprintln!("keepwatch: no capture file given (use `-` for standard input); see --help");
        return ExitCode::from(2);
    }
    match run(&args) {
        Ok(code) => code,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keepwatch: {e}");
            ExitCode::from(1)
        }
    }
}

/// `-o FILE` or standard output, buffered.
fn open_output(args: &cli::Args) -> io::Result<Box<dyn Write>> {
    Ok(match &args.output {
        Some(p) => Box::new(io::BufWriter::new(
            std::fs::File::create(p)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    })
}

/// The writer's options, for files and live capture alike.
fn writer_options(args: &cli::Args) -> WriterOptions {
    WriterOptions {
        verbose: args.verbose,
        color: args.output.is_none()
            && io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        exchanges: args.exchanges,
        ..WriterOptions::default()
    }
}

fn run(args: &cli::Args) -> io::Result<ExitCode> {
    let mut filter = match live_cmd::file_filter(args) {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    let out = open_output(args)?;
    let terminal = args.output.is_none() && io::stdout().is_terminal();
    let writer = ReportWriter::new(out, args.output_format(terminal), writer_options(args));
    let paths: Vec<String> = args
        .files
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut cfg = args.config();
    let bar = progress_bar(args, &paths);
    if let Some(bar) = &bar {
        cfg.progress = Some(bar.hook());
    }
    let outcome = match &mut filter {
        None => keepwatch::analyze_files(&paths, cfg, writer)?,
        Some(f) => keepwatch::analyze_files_filtered(&paths, cfg, writer, f)?,
    };
    if let Some(bar) = bar {
        bar.finish();
    }
    let mut failed = false;
    if let Some(e) = &outcome.filter_error {
        eprintln!("keepwatch: error: {e}");
        failed = true;
    }
    for problem in &outcome.problems {
        if problem.severity() == Severity::Error {
            failed = true;
        }
        if !args.quiet || problem.severity() == Severity::Error {
            let tag = match problem.severity() {
                Severity::Warning => "warning",
                Severity::Error => "error",
            };
            eprintln!("keepwatch: {tag}: {problem}");
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Files at least this large get a progress bar (when standard error is a
/// terminal and `--quiet` is not given).
const PROGRESS_MIN_BYTES: u64 = 100 << 20;

/// A progress bar over the bytes of all files, on standard error.
struct Bar {
    bar: indicatif::ProgressBar,
    /// Where each file starts in the bar, and its size.
    files: std::sync::Arc<Vec<(u64, u64)>>,
}

fn progress_bar(args: &cli::Args, paths: &[String]) -> Option<Bar> {
    if args.quiet || !io::stderr().is_terminal() {
        return None;
    }
    let sizes: Vec<u64> = paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map_or(0, |m| m.len())
        })
        .collect();
    if !sizes.iter().any(|&n| n >= PROGRESS_MIN_BYTES) {
        return None;
    }
    let mut start = 0;
    let files = sizes
        .iter()
        .map(|&n| {
            let f = (start, n);
            start += n;
            f
        })
        .collect();
    let bar = indicatif::ProgressBar::new(start);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    ) {
        bar.set_style(style);
    }
    Some(Bar {
        bar,
        files: std::sync::Arc::new(files),
    })
}

impl Bar {
    fn hook(&self) -> keepwatch::ProgressHook {
        let bar = self.bar.clone();
        let files = std::sync::Arc::clone(&self.files);
        keepwatch::ProgressHook(std::sync::Arc::new(move |p: &keepwatch::Progress<'_>| {
            if let Some(&(start, size)) = files.get(p.index) {
                // A gzip file's offset counts decompressed bytes: clamp.
                let within = if p.done { size } else { p.offset.min(size) };
                bar.set_position(start + within);
            }
        }))
    }

    fn finish(self) {
        self.bar.finish_and_clear();
    }
}
