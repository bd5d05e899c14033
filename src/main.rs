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
    let outcome = match &mut filter {
        None => keepwatch::analyze_files(&paths, args.config(), writer)?,
        Some(f) => keepwatch::analyze_files_filtered(&paths, args.config(), writer, f)?,
    };
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
