//! Live capture through libpcap (cargo feature `live`). This module owns
//! opening an interface, turning libpcap's packets into [`Frame`]s, saving
//! them to a pcap file as they are read (`-w`), libpcap's counters, the
//! interface list, and BPF filters, which also apply to capture files
//! through a dead handle per link type.
//!
//! Invariants: a [`Frame`] borrows libpcap's buffer and is valid until the
//! next call to [`LiveCapture::read`]; timestamps are libpcap's (the
//! kernel's), so the engine never reads the clock and the same packets give
//! the same report live and from the saved file; [`LiveCapture::read`]
//! returns within [`READ_TIMEOUT`] even when no packet arrives, so the
//! caller can notice signals and deadlines. Every error carries libpcap's
//! own reason.

use super::{Frame, LinkType};
use crate::report::PcapStats;
use crate::time::Timestamp;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Default snapshot length: libpcap's and tcpdump's (whole packets).
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// Default kernel ring size. libpcap's own default (2 MiB) holds few
/// packets when they are large: in immediate mode (TPACKET_V2) every ring
/// slot is sized for the interface MTU, so on loopback (MTU 65536) 2 MiB is
/// about 30 packets, and a burst overflows it while a busy CPU delays us.
pub const DEFAULT_BUFFER_BYTES: u32 = 16 << 20;

/// Longest a read waits for a packet before returning
/// [`LiveEvent::Timeout`], so the capture loop wakes up regularly.
pub const READ_TIMEOUT: Duration = Duration::from_millis(200);

/// How to open an interface.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Interface name as `-D` lists it; `any` captures all interfaces.
    pub interface: String,
    pub snaplen: u32,
    /// Ignored for `any`, which cannot be promiscuous.
    pub promisc: bool,
    /// Kernel buffer size in bytes.
    pub buffer_size: u32,
    /// Deliver packets as they arrive instead of in kernel batches.
    pub immediate: bool,
    /// BPF expression applied in the kernel.
    pub filter: Option<String>,
    /// Also write every captured packet to this pcap file.
    pub save: Option<PathBuf>,
}

impl LiveConfig {
    pub fn new(interface: &str) -> Self {
        LiveConfig {
            interface: interface.to_string(),
            snaplen: DEFAULT_SNAPLEN,
            promisc: true,
            buffer_size: DEFAULT_BUFFER_BYTES,
            immediate: true,
            filter: None,
            save: None,
        }
    }
}

/// What went wrong, with libpcap's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveError {
    /// The process may not capture (no root, no CAP_NET_RAW).
    Permission { interface: String, reason: String },
    /// The interface could not be opened (unknown, down, unsupported).
    Open { interface: String, reason: String },
    /// The BPF expression does not compile (for this link type).
    Filter {
        expr: String,
        link: Option<LinkType>,
        reason: String,
    },
    /// Reading packets failed after the capture started.
    Read { interface: String, reason: String },
    /// The `-w` file could not be created or written.
    Save { path: String, reason: String },
    /// The interface list could not be read.
    List { reason: String },
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::Permission { interface, reason } => write!(
                f,
                "{interface}: no permission to capture ({reason}). Live capture needs root or \
                 the CAP_NET_RAW and CAP_NET_ADMIN capabilities: run it with sudo, or grant them \
                 once with `sudo setcap cap_net_raw,cap_net_admin=eip $(command -v keepwatch)`"
            ),
            LiveError::Open { interface, reason } => {
                write!(f, "{interface}: cannot capture: {reason}")
            }
            LiveError::Filter { expr, link, reason } => {
                write!(f, "bad filter expression '{expr}'")?;
                if let Some(l) = link {
                    write!(f, " for link type {}", l.0)?;
                }
                write!(f, ": {reason}")
            }
            LiveError::Read { interface, reason } => {
                write!(f, "{interface}: read error: {reason}")
            }
            LiveError::Save { path, reason } => write!(f, "{path}: cannot save packets: {reason}"),
            LiveError::List { reason } => write!(f, "cannot list interfaces: {reason}"),
        }
    }
}

impl std::error::Error for LiveError {}

/// libpcap's text, without the crate's "libpcap error: " prefix.
fn reason(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) if !s.is_empty() => s.clone(),
        pcap::Error::PcapError(_) => "unknown libpcap error".to_string(),
        other => other.to_string(),
    }
}

/// Whether an activation error means missing privileges. libpcap returns
/// PCAP_ERROR_PERM_DENIED, which the pcap crate turns into its message
/// only, so the message is what we can look at.
fn is_permission_error(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("permission")
        || r.contains("operation not permitted")
        || r.contains("cap_net_raw")
        || r.contains("not permitted")
}

/// libpcap's `DLT_RAW` on every platform but OpenBSD.
const DLT_RAW: i32 = 12;

/// The LINKTYPE_ number (what files and [`Frame`]s carry) of a DLT_ number
/// (what a live handle reports). They differ only below 104; raw IP is the
/// one of those a live Linux interface (a tun device) gives.
fn linktype_of_dlt(dlt: i32) -> LinkType {
    match dlt {
        DLT_RAW => LinkType::RAW,
        d => LinkType(u32::try_from(d).unwrap_or(u32::MAX)),
    }
}

/// The DLT_ number a dead handle needs for a LINKTYPE_ number. The legacy
/// raw IP numbers (12, 14) are raw IP to the decoder, so they are raw IP to
/// the filter too.
fn dlt_of_linktype(link: LinkType) -> Option<i32> {
    match link {
        LinkType::RAW | LinkType::RAW_LEGACY_12 | LinkType::RAW_LEGACY_14 => Some(DLT_RAW),
        l => i32::try_from(l.0).ok(),
    }
}

/// One read from the interface.
pub enum LiveEvent<'a> {
    Frame(Frame<'a>),
    /// No packet within [`READ_TIMEOUT`].
    Timeout,
}

/// An open interface.
pub struct LiveCapture {
    interface: String,
    cap: pcap::Capture<pcap::Active>,
    link: LinkType,
    save: Option<(String, pcap::Savefile)>,
    /// Held for its `Drop`, which ends the thread.
    _waker: Waker,
}

/// Wakes a blocked read every [`READ_TIMEOUT`] through
/// `pcap_breakloop`. Needed because libpcap's read timeout does not bound
/// a wait on Linux: in immediate mode (TPACKET_V2) and with TPACKET_V3
/// alike, a read on a quiet interface blocks until a packet comes, and a
/// signal does not end it either (libpcap retries the poll on EINTR).
struct Waker {
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Waker {
    fn start(handle: pcap::BreakLoop) -> Self {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        // If the thread cannot start, reads still return with each packet;
        // only wake-ups on a quiet interface are lost.
        let _ = std::thread::Builder::new()
            .name("keepwatch-pcap-waker".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(READ_TIMEOUT);
                    // A no-op once the capture is gone (the handle is weak).
                    handle.breakloop();
                }
            });
        Waker { done }
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        self.done.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

impl LiveCapture {
    /// Opens and activates the interface, applies the filter, and creates
    /// the save file.
    pub fn open(cfg: &LiveConfig) -> Result<Self, LiveError> {
        let open_err = |e: pcap::Error| {
            let reason = reason(&e);
            if is_permission_error(&reason) {
                LiveError::Permission {
                    interface: cfg.interface.clone(),
                    reason,
                }
            } else {
                LiveError::Open {
                    interface: cfg.interface.clone(),
                    reason,
                }
            }
        };
        let is_any = cfg.interface == "any";
        let snaplen = i32::try_from(cfg.snaplen).unwrap_or(i32::MAX);
        let timeout = i32::try_from(READ_TIMEOUT.as_millis()).unwrap_or(i32::MAX);
        let inactive = pcap::Capture::from_device(cfg.interface.as_str())
            .map_err(open_err)?
            .snaplen(snaplen)
            // libpcap warns (and the pcap crate fails) when asked for
            // promiscuous mode on `any`, which has no such mode.
            .promisc(cfg.promisc && !is_any)
            .immediate_mode(cfg.immediate)
            .timeout(timeout)
            .buffer_size(i32::try_from(cfg.buffer_size).unwrap_or(i32::MAX));
        let mut cap = inactive.open().map_err(|e| {
            let mut err = open_err(e);
            // libpcap says only "No such device exists" for a bad name;
            // say which name, and where the list is.
            if let LiveError::Open { reason, .. } = &mut err {
                if reason.to_ascii_lowercase().contains("no such device") {
                    reason.push_str(" (see `keepwatch -D` for the interfaces)");
                }
            }
            err
        })?;
        if is_any {
            // SLL2 records the interface index, as tcpdump >= 4.99 does;
            // older libpcap keeps SLL, which decode reads too.
            let _ = cap.set_datalink(pcap::Linktype(LinkType::LINUX_SLL2.0 as i32));
        }
        if let Some(expr) = &cfg.filter {
            cap.filter(expr, true).map_err(|e| LiveError::Filter {
                expr: expr.clone(),
                link: None,
                reason: reason(&e),
            })?;
        }
        let link = linktype_of_dlt(cap.get_datalink().0);
        let save = match &cfg.save {
            None => None,
            Some(path) => {
                let name = path.display().to_string();
                let file = cap.savefile(path).map_err(|e| LiveError::Save {
                    path: name.clone(),
                    reason: reason(&e),
                })?;
                Some((name, file))
            }
        };
        let waker = Waker::start(cap.breakloop_handle());
        Ok(LiveCapture {
            interface: cfg.interface.clone(),
            cap,
            link,
            save,
            _waker: waker,
        })
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The link type of every frame.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// The next packet, or [`LiveEvent::Timeout`] after [`READ_TIMEOUT`]
    /// without one. The packet is saved (`-w`) before it is returned.
    pub fn read(&mut self) -> Result<LiveEvent<'_>, LiveError> {
        match self.cap.next_packet() {
            Ok(p) => {
                if let Some((_, file)) = &mut self.save {
                    file.write(&p);
                }
                // time_t is i32 on some 32-bit targets.
                #[allow(clippy::useless_conversion)]
                let ts = Timestamp::from_parts(
                    i64::from(p.header.ts.tv_sec),
                    u64::try_from(p.header.ts.tv_usec).unwrap_or(0),
                    1_000_000,
                );
                let caplen = u32::try_from(p.data.len()).unwrap_or(u32::MAX);
                Ok(LiveEvent::Frame(Frame {
                    ts,
                    caplen,
                    orig_len: p.header.len.max(caplen),
                    link: self.link,
                    data: p.data,
                }))
            }
            // NoMorePackets is pcap_next_ex's -2: the waker's breakloop.
            Err(pcap::Error::TimeoutExpired | pcap::Error::NoMorePackets) => Ok(LiveEvent::Timeout),
            Err(e) => Err(LiveError::Read {
                interface: self.interface.clone(),
                reason: reason(&e),
            }),
        }
    }

    /// libpcap's counters, or `None` if the platform gives none.
    pub fn counters(&mut self) -> Option<PcapStats> {
        self.cap.stats().ok().map(|s| PcapStats {
            received: u64::from(s.received),
            dropped: u64::from(s.dropped),
            if_dropped: u64::from(s.if_dropped),
        })
    }

    /// Pushes saved packets to the file (also done when the capture is
    /// dropped).
    pub fn flush_save(&mut self) -> Result<(), LiveError> {
        match &mut self.save {
            None => Ok(()),
            Some((path, file)) => file.flush().map_err(|e| LiveError::Save {
                path: path.clone(),
                reason: reason(&e),
            }),
        }
    }
}

/// One interface, as libpcap lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
    pub wireless: bool,
    pub connection: Connection,
}

/// pcap's `PCAP_IF_CONNECTION_STATUS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Unknown,
    Connected,
    Disconnected,
    NotApplicable,
}

/// The interfaces libpcap can capture on, in its order (which is
/// tcpdump's).
pub fn interfaces() -> Result<Vec<Interface>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| LiveError::List { reason: reason(&e) })?;
    Ok(devices
        .into_iter()
        .map(|d| Interface {
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            wireless: d.flags.is_wireless(),
            connection: match d.flags.connection_status {
                pcap::ConnectionStatus::Unknown => Connection::Unknown,
                pcap::ConnectionStatus::Connected => Connection::Connected,
                pcap::ConnectionStatus::Disconnected => Connection::Disconnected,
                pcap::ConnectionStatus::NotApplicable => Connection::NotApplicable,
            },
            name: d.name,
            description: d.desc,
        })
        .collect())
}

/// The list as `tcpdump -D` prints it: `1.eth0 [Up, Running, Connected]`.
pub fn format_interfaces(list: &[Interface]) -> String {
    use fmt::Write;
    let mut out = String::new();
    for (i, d) in list.iter().enumerate() {
        let _ = write!(out, "{}.{}", i + 1, d.name);
        if let Some(desc) = &d.description {
            let _ = write!(out, " ({desc})");
        }
        // tcpdump prints the brackets when any flag bit is set; an unknown
        // connection status is the zero value.
        let any_flag =
            d.up || d.running || d.loopback || d.wireless || d.connection != Connection::Unknown;
        if any_flag {
            let names: Vec<&str> = [
                (d.up, "Up"),
                (d.running, "Running"),
                (d.loopback, "Loopback"),
                (d.wireless, "Wireless"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
            let status = match (d.wireless, d.connection) {
                (_, Connection::NotApplicable) => None,
                (true, Connection::Unknown) => Some("Association status unknown"),
                (true, Connection::Connected) => Some("Associated"),
                (true, Connection::Disconnected) => Some("Not associated"),
                (false, Connection::Unknown) => Some("Connection status unknown"),
                (false, Connection::Connected) => Some("Connected"),
                (false, Connection::Disconnected) => Some("Disconnected"),
            };
            let flags = if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            };
            let _ = match status {
                Some(s) => write!(out, " [{flags}, {s}]"),
                None => write!(out, " [{flags}]"),
            };
        }
        out.push('\n');
    }
    out
}

/// A BPF expression applied to frames in user space: for capture files,
/// which have no kernel to filter them. Compiled by libpcap once per link
/// type met, on a dead handle, so the same expression means the same thing
/// live and from a file.
///
/// libpcap's offline filter sees the captured length as the packet length,
/// so `len`/`greater`/`less` tests compare the captured bytes of a
/// snaplen-cut packet.
pub struct BpfFilter {
    expr: String,
    /// Few entries (one per link type in the input); a scan beats a map.
    programs: Vec<(LinkType, pcap::BpfProgram)>,
}

impl BpfFilter {
    pub fn new(expr: &str) -> Self {
        BpfFilter {
            expr: expr.to_string(),
            programs: Vec::new(),
        }
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Compiles the expression for `link` now, to report a bad expression
    /// before any input is read.
    pub fn check(&mut self, link: LinkType) -> Result<(), LiveError> {
        self.program(link).map(|_| ())
    }

    fn program(&mut self, link: LinkType) -> Result<&pcap::BpfProgram, LiveError> {
        let pos = match self.programs.iter().position(|(l, _)| *l == link) {
            Some(p) => p,
            None => {
                let err = |reason: String| LiveError::Filter {
                    expr: self.expr.clone(),
                    link: Some(link),
                    reason,
                };
                let dlt = dlt_of_linktype(link)
                    .ok_or_else(|| err(format!("unknown link type {}", link.0)))?;
                let dead = pcap::Capture::dead(pcap::Linktype(dlt)).map_err(|e| err(reason(&e)))?;
                let prog = dead
                    .compile(&self.expr, true)
                    .map_err(|e| err(reason(&e)))?;
                self.programs.push((link, prog));
                self.programs.len() - 1
            }
        };
        match self.programs.get(pos) {
            Some((_, p)) => Ok(p),
            None => Err(LiveError::Filter {
                expr: self.expr.clone(),
                link: Some(link),
                reason: "internal: program table".to_string(),
            }),
        }
    }

    /// Whether the frame passes; an error when the expression cannot apply
    /// to the frame's link type.
    pub fn matches(&mut self, frame: &Frame<'_>) -> Result<bool, LiveError> {
        Ok(self.program(frame.link)?.filter(frame.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(
        name: &str,
        desc: Option<&str>,
        flags: (bool, bool, bool, bool),
        c: Connection,
    ) -> Interface {
        Interface {
            name: name.into(),
            description: desc.map(Into::into),
            up: flags.0,
            running: flags.1,
            loopback: flags.2,
            wireless: flags.3,
            connection: c,
        }
    }

    #[test]
    fn formats_the_list_as_tcpdump_does() {
        let list = [
            iface(
                "eth0",
                None,
                (true, true, false, false),
                Connection::Connected,
            ),
            iface(
                "any",
                Some("Pseudo-device that captures on all interfaces"),
                (true, true, false, false),
                Connection::NotApplicable,
            ),
            iface(
                "lo",
                None,
                (true, true, true, false),
                Connection::NotApplicable,
            ),
            iface(
                "ifb0",
                None,
                (false, false, false, false),
                Connection::NotApplicable,
            ),
            iface(
                "wlan0",
                None,
                (true, false, false, true),
                Connection::Disconnected,
            ),
            iface(
                "dummy",
                None,
                (false, false, false, false),
                Connection::Unknown,
            ),
        ];
        assert_eq!(
            format_interfaces(&list),
            "1.eth0 [Up, Running, Connected]\n\
             2.any (Pseudo-device that captures on all interfaces) [Up, Running]\n\
             3.lo [Up, Running, Loopback]\n\
             4.ifb0 [none]\n\
             5.wlan0 [Up, Wireless, Not associated]\n\
             6.dummy\n"
        );
    }

    #[test]
    fn permission_errors_are_told_apart_from_others() {
        assert!(is_permission_error(
            "Attempt to create packet socket failed - CAP_NET_RAW may be required"
        ));
        assert!(is_permission_error("socket: Operation not permitted"));
        assert!(!is_permission_error("No such device exists"));
    }

    fn eth_tcp(dport: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        // IPv4, 20-byte header, total length 40, TCP.
        f.extend_from_slice(&[0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
        f.extend_from_slice(&40000u16.to_be_bytes());
        f.extend_from_slice(&dport.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        f
    }

    fn frame(link: LinkType, data: &[u8]) -> Frame<'_> {
        Frame {
            ts: Timestamp::ZERO,
            caplen: data.len() as u32,
            orig_len: data.len() as u32,
            link,
            data,
        }
    }

    #[test]
    fn filter_matches_by_port_per_link_type() {
        let mut f = BpfFilter::new("tcp port 80");
        let p80 = eth_tcp(80);
        let p81 = eth_tcp(81);
        assert!(f.matches(&frame(LinkType::ETHERNET, &p80)).unwrap());
        assert!(!f.matches(&frame(LinkType::ETHERNET, &p81)).unwrap());
        // The same IP packet as raw IP: a second program, same answer.
        assert!(f.matches(&frame(LinkType::RAW, &p80[14..])).unwrap());
        assert!(!f.matches(&frame(LinkType::RAW, &p81[14..])).unwrap());
        assert_eq!(f.programs.len(), 2);
        // The legacy raw numbers share DLT_RAW's meaning, not their own.
        assert!(f
            .matches(&frame(LinkType::RAW_LEGACY_14, &p80[14..]))
            .unwrap());
        assert!(!f
            .matches(&frame(LinkType::RAW_LEGACY_12, &p81[14..]))
            .unwrap());
    }

    #[test]
    fn link_type_numbers_map_between_dlt_and_linktype() {
        assert_eq!(linktype_of_dlt(12), LinkType::RAW);
        assert_eq!(linktype_of_dlt(1), LinkType::ETHERNET);
        assert_eq!(linktype_of_dlt(276), LinkType::LINUX_SLL2);
        assert_eq!(dlt_of_linktype(LinkType::RAW), Some(12));
        assert_eq!(dlt_of_linktype(LinkType::LINUX_SLL), Some(113));
        assert_eq!(dlt_of_linktype(LinkType(u32::MAX)), None);
    }

    #[test]
    fn bad_expression_gives_libpcaps_reason() {
        let mut f = BpfFilter::new("tcp port");
        let err = f.check(LinkType::ETHERNET).unwrap_err();
        let LiveError::Filter { reason, .. } = &err else {
            panic!("{err:?}");
        };
        assert!(reason.contains("syntax error"), "{reason}");
        assert!(err
            .to_string()
            .starts_with("bad filter expression 'tcp port'"));
    }

    #[test]
    fn expression_invalid_for_a_link_type_is_an_error_there_only() {
        let mut f = BpfFilter::new("ether host 01:02:03:04:05:06");
        assert!(f.check(LinkType::ETHERNET).is_ok());
        assert!(f.check(LinkType::RAW).is_err());
    }
}
