//! Restricting the report to some connections (`--server`, `--client`,
//! `--only`).
//!
//! The filter is applied by the [`super::Aggregator`] before a record is
//! folded in, so per-server records and the summary describe exactly the
//! connections that are written (`summary.filtered_out` counts the rest).

use super::model::{ConnectionRecord, Flag};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// `HOST[:PORT]`: an IP address (no name lookups: the tool is passive),
/// IPv6 in brackets when a port follows (`[::1]:80`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostPort {
    pub ip: IpAddr,
    pub port: Option<u16>,
}

impl FromStr for HostPort {
    type Err = String;
    fn from_str(s: &str) -> Result<HostPort, String> {
        let bad =
            || format!("{s:?} is not HOST[:PORT] with HOST an IP address (IPv6 as [addr]:port)");
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(HostPort { ip, port: None });
        }
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            match after {
                "" => (host, None),
                p => (host, Some(p.strip_prefix(':').ok_or_else(bad)?)),
            }
        } else {
            let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
            (host, Some(port))
        };
        let ip = host.parse::<IpAddr>().map_err(|_| bad())?;
        let port = match port {
            Some(p) => Some(p.parse::<u16>().map_err(|_| bad())?),
            None => None,
        };
        Ok(HostPort { ip, port })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.ip, self.port) {
            (ip, None) => write!(f, "{ip}"),
            (IpAddr::V4(ip), Some(p)) => write!(f, "{ip}:{p}"),
            (IpAddr::V6(ip), Some(p)) => write!(f, "[{ip}]:{p}"),
        }
    }
}

/// Which connections the report keeps. The default keeps all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Keep connections to this server (any port when none is given).
    pub server: Option<HostPort>,
    /// Keep connections from this client address.
    pub client: Option<IpAddr>,
    /// Keep connections with at least one of these flags (none: no
    /// restriction).
    pub only: Vec<Flag>,
}

impl ReportFilter {
    pub fn is_empty(&self) -> bool {
        self.server.is_none() && self.client.is_none() && self.only.is_empty()
    }

    pub fn keep(&self, rec: &ConnectionRecord) -> bool {
        if let Some(s) = self.server {
            if rec.server.ip != s.ip || s.port.is_some_and(|p| p != rec.server.port) {
                return false;
            }
        }
        if self.client.is_some_and(|c| c != rec.client.ip) {
            return false;
        }
        self.only.is_empty() || self.only.iter().any(|f| rec.has_flag(*f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_forms() {
        let hp = |s: &str| s.parse::<HostPort>();
        assert_eq!(
            hp("10.0.0.2:80").unwrap(),
            HostPort {
                ip: "10.0.0.2".parse().unwrap(),
                port: Some(80)
            }
        );
        assert_eq!(hp("10.0.0.2").unwrap().port, None);
        assert_eq!(hp("::1").unwrap().port, None);
        assert_eq!(hp("[::1]:8080").unwrap().port, Some(8080));
        assert_eq!(hp("[fe80::1]").unwrap().port, None);
        for bad in [
            "",
            "host:80",
            "10.0.0.2:",
            "10.0.0.2:99999",
            "[::1]80",
            "[::1",
            "::1:x",
        ] {
            assert!(hp(bad).is_err(), "{bad}");
        }
        assert_eq!(hp("[::1]:80").unwrap().to_string(), "[::1]:80");
        assert_eq!(hp("10.0.0.2:80").unwrap().to_string(), "10.0.0.2:80");
    }
}
