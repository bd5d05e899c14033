//! Command-line options (clap), converted into the library's plain
//! [`keepwatch::Config`] and run settings.

use clap::{Parser, ValueEnum};
use keepwatch::report::Format;
use keepwatch::report::{ExchangeDetail, Flag, HostPort, ReportFilter};
use std::net::IpAddr;
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  keepwatch capture.pcap                     text report of a capture
  keepwatch -F json -o report.json a.pcapng  one JSON document
  keepwatch -F ndjson day1.pcap.gz day2.pcap one JSON object per line, files read as one capture
  tcpdump -i eth0 -w - 'tcp port 80' | keepwatch -F ndjson -
";

#[derive(Parser, Debug)]
#[command(
    name = "keepwatch",
    version,
    about = "Passive analyzer of HTTP/1.x keep-alive and TCP keepalive behaviour in packet captures",
    after_help = EXAMPLES
)]
pub struct Args {
    /// Capture files (pcap or pcapng, optionally gzip-compressed); `-` reads
    /// standard input. Several files are read as one capture, in order.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format [default: text; ndjson for live capture when the
    /// output is not a terminal].
    #[arg(short = 'F', long, value_enum)]
    pub format: Option<FormatArg>,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print no warnings on standard error.
    #[arg(short, long)]
    pub quiet: bool,

    /// Text format: list every connection, not just the first ones.
    #[arg(short, long)]
    pub verbose: bool,

    /// Capture live from an interface (`any` for all), until SIGINT or
    /// SIGTERM (needs the `live` feature).
    // Not `conflicts_with = "files"`: clap drops the `requires` of the live
    // options when a conflicting argument is present; the live command
    // rejects files itself.
    #[arg(short = 'i', long, value_name = "IFACE")]
    pub interface: Option<String>,

    /// BPF filter expression, as tcpdump takes it; applies to files too
    /// (needs the `live` feature).
    #[arg(short = 'f', long, value_name = "EXPR")]
    pub filter: Option<String>,

    /// Most connections tracked at once; the least recently active is
    /// evicted beyond it.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub max_connections: usize,

    /// Most out-of-order bytes buffered per connection.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_buffer: usize,

    /// Most out-of-order bytes buffered across all connections.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    pub max_buffer_total: usize,

    /// Largest HTTP message head accepted.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_head: usize,

    /// Most header fields in one HTTP message head.
    #[arg(long, value_name = "N", default_value_t = 128)]
    pub max_headers: usize,

    /// Per-exchange detail in JSON/NDJSON: none, summary (counts and
    /// timings per connection) or all (every exchange).
    #[arg(long, value_name = "LEVEL", default_value = "all")]
    pub exchanges: ExchangeDetail,

    /// Report only connections to this server (an IP address, optionally
    /// with :PORT; IPv6 as [addr]:port).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub server: Option<HostPort>,

    /// Report only connections from this client IP address.
    #[arg(long, value_name = "HOST")]
    pub client: Option<IpAddr>,

    /// Report only connections with this flag, e.g. keepalive_race
    /// (repeatable: any of them).
    #[arg(long, value_name = "FLAG")]
    pub only: Vec<Flag>,

    /// Analyse on N threads, the reading one included (connections
    /// sharded by their endpoints); the output is the same for every N.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,

    /// Seconds of capture time a closed connection stays tracked after its
    /// close, absorbing late ACKs and retransmitted FINs (a new SYN on the
    /// same ports within it is reported as port reuse).
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    pub close_linger: f64,

    /// Treat PORT as a server port when a connection is picked up
    /// mid-stream (repeatable).
    #[arg(long = "server-port", value_name = "PORT")]
    pub server_ports: Vec<u16>,

    // Last: the group's help heading would otherwise carry over to the
    // options after it.
    #[command(flatten)]
    pub live: LiveArgs,
}

/// Live capture options (`-i`); they need the `live` feature.
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Live capture")]
pub struct LiveArgs {
    /// List the interfaces live capture can use, as `tcpdump -D` does.
    #[arg(short = 'D', long)]
    pub list_interfaces: bool,

    /// Bytes captured per packet.
    #[arg(
        short = 's',
        long,
        value_name = "BYTES",
        default_value_t = 262_144,
        requires = "interface"
    )]
    pub snaplen: u32,

    /// Do not put the interface into promiscuous mode.
    #[arg(long, requires = "interface")]
    pub no_promisc: bool,

    /// Kernel capture buffer size (libpcap's own default, 2 MiB, holds
    /// only ~30 packets on loopback).
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20, requires = "interface")]
    pub buffer_size: u32,

    /// Stop after SECONDS of capture.
    #[arg(long, value_name = "SECONDS", requires = "interface")]
    pub duration: Option<f64>,

    /// Stop after PACKETS packets (that passed the filter).
    #[arg(short = 'c', long, value_name = "PACKETS", requires = "interface")]
    pub count: Option<u64>,

    /// Also save the captured packets to FILE (pcap).
    #[arg(short = 'w', long, value_name = "FILE", requires = "interface")]
    pub write: Option<PathBuf>,

    /// An interim record ("final": false, ndjson only) for each open
    /// connection silent for longer than SECONDS of capture time, once per
    /// idle period.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 3600.0,
        requires = "interface"
    )]
    pub idle_report: f64,

    /// Write a `{"type":"stats"}` line every SECONDS (to standard error
    /// for the text and json formats).
    #[arg(long, value_name = "SECONDS", requires = "interface")]
    pub stats_interval: Option<f64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Ndjson,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Ndjson => Format::Ndjson,
        }
    }
}

impl Args {
    /// The output format: `-F`, else NDJSON for a live capture whose output
    /// is not a terminal (a pipeline), else text.
    pub fn output_format(&self, output_is_terminal: bool) -> Format {
        match self.format {
            Some(f) => f.into(),
            None if self.interface.is_some() && !output_is_terminal => Format::Ndjson,
            None => Format::Text,
        }
    }

    pub fn config(&self) -> keepwatch::Config {
        let mut cfg = keepwatch::Config::default();
        cfg.tcp.max_connections = self.max_connections.max(1);
        cfg.tcp.max_buffer_per_connection = self.max_buffer;
        cfg.tcp.max_buffer_total = self.max_buffer_total;
        cfg.tcp.server_ports = self.server_ports.clone();
        cfg.tcp.close_linger = std::time::Duration::try_from_secs_f64(self.close_linger.max(0.0))
            .unwrap_or(std::time::Duration::MAX);
        cfg.threads = self.threads.max(1);
        cfg.http.max_head_bytes = self.max_head.max(16);
        cfg.http.max_headers = self.max_headers.max(1);
        cfg.filter = ReportFilter {
            server: self.server,
            client: self.client,
            only: self.only.clone(),
        };
        cfg
    }
}
