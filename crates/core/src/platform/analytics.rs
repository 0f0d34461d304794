//! Analytics sink port: receives one record per handled request. Recording is
//! synchronous and cheap (buffer in memory); flushing is the adapter's business.

use super::Timestamp;

/// What the gateway knows about one finished request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub at: Timestamp,
    pub request_id: String,
    pub route: Option<String>,
    pub consumer: Option<String>,
    pub method: String,
    pub status: u16,
    pub duration_micros: u64,
    pub upstream_micros: Option<u64>,
}

pub trait AnalyticsSink {
    fn record(&self, record: RequestRecord);
}
