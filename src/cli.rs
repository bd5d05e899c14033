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

    /// Output format.
    #[arg(short = 'F', long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print no warnings on standard error.
    #[arg(short, long)]
    pub quiet: bool,

    /// Text format: list every connection, not just the first ones.
    #[arg(short, long)]
    pub verbose: bool,

    /// Capture live from an interface (needs the `live` feature).
    #[arg(short = 'i', long, value_name = "IFACE")]
    pub interface: Option<String>,

    /// BPF filter expression (needs the `live` feature).
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

    /// Analyse with N worker threads (connections sharded by their
    /// endpoints); the output is the same for every N.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub threads: usize,

    /// Treat PORT as a server port when a connection is picked up
    /// mid-stream (repeatable).
    #[arg(long = "server-port", value_name = "PORT")]
    pub server_ports: Vec<u16>,
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
    pub fn config(&self) -> keepwatch::Config {
        let mut cfg = keepwatch::Config::default();
        cfg.tcp.max_connections = self.max_connections.max(1);
        cfg.tcp.max_buffer_per_connection = self.max_buffer;
        cfg.tcp.max_buffer_total = self.max_buffer_total;
        cfg.tcp.server_ports = self.server_ports.clone();
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
