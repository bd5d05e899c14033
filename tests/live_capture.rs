//! The built binary capturing live on loopback (`--features live`): a tiny
//! HTTP server on a loopback port, keep-alive and `Connection: close`
//! clients driven with std sockets, `keepwatch -i lo -f 'tcp port P'`
//! watching them, and its NDJSON parsed back.
//!
//! Capturing needs root (or CAP_NET_RAW). Without it the capturing tests
//! say why and return, except under `CI=true`, where they fail: CI must
//! not skip them. The tests that need no privileges (the messages for a
//! missing privilege, the interface list, `-f` on files) always run.
#![cfg(feature = "live")]

mod capture_support;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_keepwatch");

/// Longest a capture run may take beyond its own `--duration` before the
/// test kills it and fails (a hang is a failure, never a stuck CI job).
const RUN_SLACK: Duration = Duration::from_secs(20);

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Whether this test may capture; says why not, or fails under CI.
fn can_capture(test: &str) -> bool {
    if effective_uid() == Some(0) {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: live capture needs root, and CI=true: CI must run this test as root");
    }
    eprintln!("{test}: skipped: live capture needs root or CAP_NET_RAW (run as root; CI does)");
    false
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("keepwatch-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

// ---- the HTTP server and clients ----

/// Reads one request head; `None` at end of stream.
fn read_head(r: &mut BufReader<TcpStream>) -> Option<String> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let end = line == "\r\n";
        head.push_str(&line);
        if end {
            return Some(head);
        }
    }
}

fn wants_close(head: &str) -> bool {
    head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("connection:") && l.contains("close")
    })
}

/// A keep-alive HTTP/1.1 server on a loopback port: every request gets
/// `200` with a 5-byte body; a `Connection: close` request gets
/// `Connection: close` back and the server closes first. Runs until the
/// test process ends.
fn start_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local addr").port();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(stream) = conn else { continue };
            thread::spawn(move || {
                let Ok(write_half) = stream.try_clone() else {
                    return;
                };
                let mut w = write_half;
                let mut r = BufReader::new(stream);
                while let Some(head) = read_head(&mut r) {
                    let close = wants_close(&head);
                    let extra = if close { "Connection: close\r\n" } else { "" };
                    let resp = format!("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n{extra}\r\nhello");
                    if w.write_all(resp.as_bytes()).is_err() || close {
                        return;
                    }
                }
                // The client closed: close our side too.
            });
        }
    });
    port
}

/// Sends a request and reads its response (head and 5-byte body).
fn exchange(s: &mut TcpStream, close: bool) {
    let extra = if close { "Connection: close\r\n" } else { "" };
    let req = format!("GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n");
    s.write_all(req.as_bytes()).expect("send request");
    let mut r = BufReader::new(s.try_clone().expect("clone"));
    let head = read_head(&mut r).expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut body = [0u8; 5];
    r.read_exact(&mut body).expect("the response body");
}

/// The traffic every capturing test drives: one keep-alive connection with
/// three exchanges that the client closes, and one `Connection: close`
/// exchange that the server closes. Returns the client ports, in that order.
fn drive_traffic(port: u16) -> (u16, u16) {
    let mut a = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let a_port = a.local_addr().expect("addr").port();
    for _ in 0..3 {
        exchange(&mut a, false);
    }
    drop(a);
    let mut b = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let b_port = b.local_addr().expect("addr").port();
    exchange(&mut b, true);
    // Read the server's FIN before closing our side.
    let mut rest = Vec::new();
    let _ = b.read_to_end(&mut rest);
    drop(b);
    (a_port, b_port)
}

// ---- running keepwatch ----

/// A capture running in the background, started once libpcap is listening.
struct Running {
    child: Child,
    stderr_rx: mpsc::Receiver<String>,
    stdout_thread: thread::JoinHandle<Vec<u8>>,
    started: Instant,
}

fn start_capture(args: &[&str]) -> Running {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keepwatch runs");
    let mut stdout = child.stdout.take().expect("stdout");
    let stdout_thread = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    // Wait for "listening on": the handle is active and filtered.
    let mut early = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.contains("listening on") => break,
            Ok(line) => early.push(line),
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                panic!("keepwatch did not start listening ({status:?}); stderr: {early:?}");
            }
        }
    }
    Running {
        child,
        stderr_rx: rx,
        stdout_thread,
        started,
    }
}

struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Running {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end by itself, killing it (and failing)
    /// after `limit`.
    fn wait(mut self, limit: Duration) -> Finished {
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if self.started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("keepwatch still running after {limit:?}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let stdout = self.stdout_thread.join().expect("stdout reader");
        let stderr: Vec<String> = self.stderr_rx.try_iter().collect();
        Finished {
            code: status.code(),
            stdout: String::from_utf8(stdout).expect("UTF-8 output"),
            stderr: stderr.join("\n"),
        }
    }
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn of_type<'a>(lines: &'a [Value], t: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == t).collect()
}

fn one<'a>(lines: &'a [Value], t: &str) -> &'a Value {
    let v = of_type(lines, t);
    assert_eq!(v.len(), 1, "exactly one {t} line in {lines:#?}");
    v[0]
}

fn run_output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("keepwatch runs")
}

/// One capture of [`drive_traffic`], with stats lines and a `-w` file.
/// Returns the NDJSON lines, the run, the saved file and the client ports.
fn capture_traffic(test: &str) -> (Vec<Value>, Finished, PathBuf, (u16, u16)) {
    let port = start_server();
    let saved = temp_path(&format!("{test}.pcap"));
    let filter = format!("tcp port {port}");
    let saved_arg = saved.to_string_lossy().into_owned();
    let duration = 3.0;
    let run = start_capture(&[
        "-i",
        "lo",
        "-f",
        &filter,
        "-F",
        "ndjson",
        "--duration",
        "3",
        "--stats-interval",
        "0.5",
        "-w",
        &saved_arg,
    ]);
    let ports = drive_traffic(port);
    let done = run.wait(Duration::from_secs_f64(duration) + RUN_SLACK);
    let lines = ndjson(&done.stdout);
    (lines, done, saved, ports)
}

// ---- tests that capture (root) ----

#[test]
fn live_capture_writes_a_complete_ndjson_report_and_exits_0() {
    if !can_capture("live_capture_writes_a_complete_ndjson_report_and_exits_0") {
        return;
    }
    let (lines, done, saved, _) = capture_traffic("complete");
    assert_eq!(done.code, Some(0), "stderr: {}", done.stderr);
    // The header first, even if a stats line was due before any record.
    assert_eq!(
        lines.first().map(|l| &l["type"]),
        Some(&Value::from("header"))
    );
    assert_eq!(of_type(&lines, "header").len(), 1);
    // The stream ends with the summary, after the capture line.
    assert_eq!(
        lines.last().map(|l| &l["type"]),
        Some(&Value::from("summary"))
    );
    let capture = one(&lines, "capture");
    let packets = capture["packets"].as_u64().expect("packets");
    // Two handshakes, four exchanges and two closes: well over 20 segments.
    assert!(packets >= 20, "{capture}");
    assert_eq!(capture["tcp_packets"].as_u64(), Some(packets), "{capture}");
    assert_eq!(capture["link_types"]["1"].as_u64(), Some(packets));
    assert_eq!(capture["files"], Value::Array(vec![]));
    let pcap = &capture["pcap_stats"];
    assert!(
        pcap["received"].as_u64().expect("received") >= packets,
        "{pcap}"
    );
    assert_eq!(pcap["dropped"].as_u64(), Some(0), "{pcap}");
    assert!(pcap["if_dropped"].is_u64(), "{pcap}");
    // Stats lines: periodic ones, then the final one.
    let stats = of_type(&lines, "stats");
    assert!(stats.len() >= 3, "{stats:#?}");
    for s in &stats {
        assert!(
            s["packets"].is_u64() && s["connections_open"].is_u64(),
            "{s}"
        );
        assert!(s["pcap"]["received"].is_u64(), "{s}");
        assert!(s["rss_bytes"].as_u64().is_some_and(|b| b > 0), "{s}");
    }
    let last = stats.last().expect("a stats line");
    assert_eq!(last["final"], Value::Bool(true));
    assert_eq!(last["packets"].as_u64(), Some(packets));
    assert!(stats[..stats.len() - 1]
        .iter()
        .all(|s| s["final"] == Value::Bool(false)));
    // The human summary on stderr, as tcpdump prints it.
    assert!(
        done.stderr.contains(&format!("{packets} packets captured")),
        "{}",
        done.stderr
    );
    let _ = std::fs::remove_file(saved);
}

/// Everything but what only a live run can know (libpcap's counters, the
/// file list) and the process stats lines.
fn comparable(lines: &[Value]) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| l["type"] != "stats")
        .map(|l| {
            let mut l = l.clone();
            if l["type"] == "capture" {
                let o = l.as_object_mut().expect("object");
                o.remove("pcap_stats");
                o.remove("files");
            }
            l
        })
        .collect()
}

#[test]
fn live_report_equals_the_report_of_its_saved_file() {
    if !can_capture("live_report_equals_the_report_of_its_saved_file") {
        return;
    }
    let (lines, done, saved, _) = capture_traffic("same");
    assert_eq!(done.code, Some(0), "stderr: {}", done.stderr);
    let out = run_output(Command::new(BIN).args(["-F", "ndjson"]).arg(&saved));
    assert_eq!(out.status.code(), Some(0));
    let from_file = ndjson(&String::from_utf8(out.stdout).expect("UTF-8"));
    assert_eq!(comparable(&lines), comparable(&from_file));
    // And the file holds exactly the packets analysed.
    let capture = one(&from_file, "capture");
    assert_eq!(capture["packets"], one(&lines, "capture")["packets"]);
    let _ = std::fs::remove_file(saved);
}

/// Needs the TCP and HTTP layers (issues 3 and 4): one record per client
/// connection, with its exchanges and who closed it.
#[test]
fn live_records_each_connection_with_exchanges_and_close_initiator() {
    if !can_capture("live_records_each_connection_with_exchanges_and_close_initiator") {
        return;
    }
    let (lines, done, saved, (a_port, b_port)) = capture_traffic("records");
    assert_eq!(done.code, Some(0), "stderr: {}", done.stderr);
    let conns = of_type(&lines, "connection");
    let by_port = |p: u16| {
        conns
            .iter()
            .find(|c| c["client"]["port"].as_u64() == Some(u64::from(p)))
            .unwrap_or_else(|| panic!("a record for client port {p}: {conns:#?}"))
    };
    assert_eq!(conns.len(), 2, "{conns:#?}");
    let a = by_port(a_port);
    assert_eq!(a["requests"].as_u64(), Some(3), "{a}");
    assert_eq!(a["close"]["initiator"], "client", "{a}");
    assert_eq!(a["close"]["reason"], "client_closed_after_response", "{a}");
    let b = by_port(b_port);
    assert_eq!(b["requests"].as_u64(), Some(1), "{b}");
    assert_eq!(b["close"]["initiator"], "server", "{b}");
    assert_eq!(b["close"]["reason"], "connection_close_requested", "{b}");
    let summary = one(&lines, "summary");
    assert_eq!(summary["connections"].as_u64(), Some(2), "{summary}");
    let _ = std::fs::remove_file(saved);
}

#[test]
fn sigint_stops_the_capture_cleanly_and_flushes_open_connections() {
    if !can_capture("sigint_stops_the_capture_cleanly_and_flushes_open_connections") {
        return;
    }
    let port = start_server();
    let filter = format!("tcp port {port}");
    let run = start_capture(&["-i", "lo", "-f", &filter, "-F", "ndjson"]);
    // A keep-alive connection left open when the capture stops.
    let mut open = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    exchange(&mut open, false);
    thread::sleep(Duration::from_millis(300));
    let pid = run.pid().to_string();
    let kill = run_output(Command::new("kill").args(["-INT", &pid]));
    assert!(kill.status.success(), "kill -INT {pid}");
    let done = run.wait(RUN_SLACK);
    drop(open);
    assert_eq!(done.code, Some(0), "stderr: {}", done.stderr);
    let lines = ndjson(&done.stdout);
    assert_eq!(
        lines.last().map(|l| &l["type"]),
        Some(&Value::from("summary"))
    );
    let capture = one(&lines, "capture");
    assert!(
        capture["packets"].as_u64().is_some_and(|p| p >= 5),
        "{capture}"
    );
    assert!(capture["pcap_stats"]["received"].is_u64(), "{capture}");
    // Needs the TCP layer: the open connection is flushed as such.
    let conns = of_type(&lines, "connection");
    assert_eq!(conns.len(), 1, "{lines:#?}");
    assert_eq!(conns[0]["close"]["reason"], "open_at_capture_end");
    assert_eq!(conns[0]["end_state"], "open");
}

/// `--idle-report`: a keep-alive connection silent for longer gets one
/// interim record (`final: false`) once other traffic moves capture time
/// on, and its final record at the end; the summary counts it once.
#[test]
fn idle_connection_gets_an_interim_record() {
    if !can_capture("idle_connection_gets_an_interim_record") {
        return;
    }
    let port = start_server();
    let filter = format!("tcp port {port}");
    let run = start_capture(&[
        "-i",
        "lo",
        "-f",
        &filter,
        "-F",
        "ndjson",
        "--idle-report",
        "1",
    ]);
    let mut idle = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let idle_port = idle.local_addr().expect("addr").port();
    exchange(&mut idle, false);
    thread::sleep(Duration::from_millis(1600));
    // Other traffic: capture time moves on, past the idle threshold.
    let mut other = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    exchange(&mut other, false);
    thread::sleep(Duration::from_millis(300));
    exchange(&mut other, false);
    thread::sleep(Duration::from_millis(300));
    let pid = run.pid().to_string();
    let kill = run_output(Command::new("kill").args(["-INT", &pid]));
    assert!(kill.status.success(), "kill -INT {pid}");
    let done = run.wait(RUN_SLACK);
    drop(idle);
    drop(other);
    assert_eq!(done.code, Some(0), "stderr: {}", done.stderr);
    let lines = ndjson(&done.stdout);
    let conns = of_type(&lines, "connection");
    let of_idle: Vec<&&Value> = conns
        .iter()
        .filter(|c| c["client"]["port"] == idle_port)
        .collect();
    assert_eq!(of_idle.len(), 2, "{lines:#?}");
    assert_eq!(of_idle[0]["final"], false, "{:#?}", of_idle[0]);
    assert_eq!(of_idle[0]["end_state"], "open");
    assert_eq!(of_idle[0]["requests"], 1);
    assert_eq!(of_idle[1]["final"], true);
    assert_eq!(of_idle[0]["id"], of_idle[1]["id"]);
    // The other connection was never idle that long.
    assert_eq!(conns.iter().filter(|c| c["final"] == false).count(), 1);
    let summary = one(&lines, "summary");
    assert_eq!(summary["connections"].as_u64(), Some(2), "{summary}");
}

#[test]
fn second_sigint_exits_at_once() {
    if !can_capture("second_sigint_exits_at_once") {
        return;
    }
    // The second SIGINT, 10 ms after the first, must end the process at
    // once with status 130: without the handler it would only set the stop
    // flag again (exit 0). It lands while the first is still being acted
    // on: the loop's wake-up, or the teardown (closing a packet socket waits
    // for the kernel, ~200 ms). The first may win the race now and then
    // (exit 0, complete output), so: several tries.
    let mut codes = Vec::new();
    for _ in 0..5 {
        let run = start_capture(&["-i", "lo", "-f", "tcp port 9", "-F", "ndjson"]);
        let pid = run.pid().to_string();
        let kill = run_output(Command::new("sh").args([
            "-c",
            &format!("kill -INT {pid}; sleep 0.01; kill -INT {pid} 2>/dev/null; true"),
        ]));
        assert!(kill.status.success());
        let done = run.wait(RUN_SLACK);
        match done.code {
            Some(130) => {}
            Some(0) => assert!(done.stdout.contains("summary"), "{}", done.stdout),
            other => panic!("exit {other:?}; stderr: {}", done.stderr),
        }
        codes.push(done.code);
        if done.code == Some(130) {
            return;
        }
    }
    panic!("no second SIGINT ended keepwatch at once: {codes:?}");
}

#[test]
fn count_stops_after_that_many_packets() {
    if !can_capture("count_stops_after_that_many_packets") {
        return;
    }
    let port = start_server();
    let filter = format!("tcp port {port}");
    let run = start_capture(&["-i", "lo", "-f", &filter, "-F", "json", "-c", "4"]);
    let _ = drive_traffic(port);
    let done = run.wait(RUN_SLACK);
    assert_eq!(done.code, Some(0), "stderr: {}", done.stderr);
    let report: Value = serde_json::from_str(&done.stdout).expect("one JSON document");
    assert_eq!(report["capture"]["packets"].as_u64(), Some(4));
}

#[test]
fn unknown_interface_gives_libpcaps_reason_and_exit_1() {
    if !can_capture("unknown_interface_gives_libpcaps_reason_and_exit_1") {
        return;
    }
    let out = run_output(Command::new(BIN).args(["-i", "nosuchif0", "--duration", "1"]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nosuchif0: cannot capture: No such device exists"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_filter_on_an_interface_gives_libpcaps_reason_and_exit_1() {
    if !can_capture("bad_filter_on_an_interface_gives_libpcaps_reason_and_exit_1") {
        return;
    }
    let out = run_output(Command::new(BIN).args(["-i", "lo", "-f", "tcp port", "--duration", "1"]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "bad filter expression 'tcp port': can't parse filter expression: syntax error"
        ),
        "{err}"
    );
}

// ---- tests that need no privileges ----

/// Runs keepwatch without privileges: as `nobody` when we are root (the
/// change of user drops every capability), as ourselves otherwise.
fn unprivileged(args: &[&str]) -> Output {
    if effective_uid() == Some(0) {
        run_output(
            Command::new("setpriv")
                .args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
                .args(args),
        )
    } else {
        run_output(Command::new(BIN).args(args))
    }
}

#[test]
fn without_privileges_says_how_to_grant_them_and_exits_1() {
    let out = unprivileged(&["-i", "lo", "--duration", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lo: no permission to capture ("), "{err}");
    assert!(
        err.contains("root or the CAP_NET_RAW and CAP_NET_ADMIN"),
        "{err}"
    );
    assert!(err.contains("sudo"), "{err}");
    assert!(
        err.contains("setcap cap_net_raw,cap_net_admin=eip"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn list_interfaces_prints_loopback_as_tcpdump_does() {
    let out = unprivileged(&["-D"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert!(!lines.is_empty());
    for (i, l) in lines.iter().enumerate() {
        assert!(l.starts_with(&format!("{}.", i + 1)), "{l}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with(".lo [Up, Running, Loopback]")),
        "{text}"
    );
}

/// Ethernet + IPv4 + TCP SYN from 10.0.0.1:40000 to 10.0.0.2:`dport`.
fn syn(dport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
    f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    f
}

fn two_port_capture(name: &str) -> PathBuf {
    let bytes = capture_support::Pcap::new(false, false, 0, 1)
        .record(1_700_000_000, 0, &syn(80), 54)
        .record(1_700_000_001, 0, &syn(81), 54)
        .record(1_700_000_002, 0, &syn(80), 54)
        .bytes;
    let path = temp_path(name);
    std::fs::write(&path, bytes).expect("write capture");
    path
}

#[test]
fn filter_applies_to_files_through_libpcap() {
    let path = two_port_capture("filter.pcap");
    let out = run_output(
        Command::new(BIN)
            .args(["-F", "json", "-f", "tcp dst port 80"])
            .arg(&path),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["capture"]["packets"].as_u64(), Some(2));
    assert_eq!(report["capture"]["files"][0]["packets"].as_u64(), Some(2));
    assert!(report["capture"].get("pcap_stats").is_none());
    let _ = std::fs::remove_file(path);
}

#[test]
fn bad_filter_on_a_file_gives_libpcaps_reason_and_exit_1() {
    let path = two_port_capture("badfilter.pcap");
    let out = run_output(
        Command::new(BIN)
            .args(["-F", "json", "-f", "tcp port"])
            .arg(&path),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad filter expression 'tcp port' for link type 1: can't parse filter expression: syntax error"),
        "{err}"
    );
    // The report of what was read (nothing) is still written.
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["capture"]["packets"].as_u64(), Some(0));
    let _ = std::fs::remove_file(path);
}

#[test]
fn live_only_options_need_an_interface() {
    let path = two_port_capture("usage.pcap");
    for opt in [&["--duration", "1"][..], &["-c", "3"], &["-w", "x.pcap"]] {
        let out = run_output(Command::new(BIN).args(opt).arg(&path));
        assert_eq!(out.status.code(), Some(2), "{opt:?}");
    }
    let out = run_output(Command::new(BIN).args(["-i", "lo"]).arg(&path));
    assert_eq!(out.status.code(), Some(2), "-i with files");
    let _ = std::fs::remove_file(path);
}
