//! From layer facts to report records, and the aggregation of records into
//! per-server records and the summary.

use super::model::*;
use crate::http::HttpFacts;
use crate::tcp::TcpFacts;
use std::collections::BTreeMap;

/// Build the report record of one finished connection.
pub fn build_connection(tcp: &TcpFacts, http: &HttpFacts) -> ConnectionRecord {
    let _ = http;
    ConnectionRecord {
        id: tcp.id,
        client: EndpointRecord {
            ip: tcp.client.ip,
            port: tcp.client.port,
        },
        server: EndpointRecord {
            ip: tcp.server.ip,
            port: tcp.server.port,
        },
        start: tcp.start,
        end: tcp.end,
        duration_ms: tcp.start.ms_until(tcp.end).max(0.0),
    }
}

/// Folds connection records, as they are produced, into per-server records
/// and the summary. Keeps per-server state only, never the records.
#[derive(Default)]
pub struct Aggregator {
    servers: BTreeMap<EndpointRecord, ServerRecord>,
    summary: Summary,
}

impl Aggregator {
    pub fn add(&mut self, rec: &ConnectionRecord) {
        self.summary.connections += 1;
        self.servers
            .entry(rec.server.clone())
            .or_insert_with(|| ServerRecord {
                server: rec.server.clone(),
                connections: 0,
            })
            .connections += 1;
    }

    pub fn finish(self) -> (Vec<ServerRecord>, Summary) {
        (self.servers.into_values().collect(), self.summary)
    }
}
