//! On-disk encoding of registry batches and snapshots: protobuf payloads framed as
//! `[u32 length LE][u32 crc32 LE][payload]`, so a torn write at the tail is detected.

use std::time::Duration;

use mesos_protos::mesos::internal::Registry;
use mesos_protos::v1;
use prost::Message;

use super::ops::Operation;

/// One operation as stored in the log.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpRecord {
    /// Which operation (see `KIND_*`).
    #[prost(uint32, tag = "1")]
    pub kind: u32,
    /// AgentInfo for admit/update/reachable.
    #[prost(message, optional, tag = "2")]
    pub agent: Option<v1::AgentInfo>,
    /// Agent id for unreachable/gone/remove.
    #[prost(string, optional, tag = "3")]
    pub agent_id: Option<String>,
    /// Time for unreachable/gone/prune.
    #[prost(int64, optional, tag = "4")]
    pub time_ns: Option<i64>,
    /// Prune max age.
    #[prost(uint64, optional, tag = "5")]
    pub max_age_ns: Option<u64>,
    /// Prune max count.
    #[prost(uint64, optional, tag = "6")]
    pub max_count: Option<u64>,
    /// Weights.
    #[prost(message, repeated, tag = "7")]
    pub weights: Vec<v1::WeightInfo>,
    /// Quota.
    #[prost(message, optional, tag = "8")]
    pub quota: Option<v1::quota::QuotaConfig>,
    /// Master info.
    #[prost(message, optional, tag = "9")]
    pub master: Option<v1::MasterInfo>,
}

/// A batch of operations stored together (one fsync).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BatchRecord {
    /// Sequence number of the batch (1, 2, ...).
    #[prost(uint64, tag = "1")]
    pub seq: u64,
    /// The operations, in order.
    #[prost(message, repeated, tag = "2")]
    pub ops: Vec<OpRecord>,
}

/// A full registry covering every batch up to `seq`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SnapshotRecord {
    /// The last batch included.
    #[prost(uint64, tag = "1")]
    pub seq: u64,
    /// The registry.
    #[prost(message, optional, tag = "2")]
    pub registry: Option<Registry>,
}

const KIND_SET_MASTER: u32 = 1;
const KIND_ADMIT: u32 = 2;
const KIND_UPDATE: u32 = 3;
const KIND_UNREACHABLE: u32 = 4;
const KIND_REACHABLE: u32 = 5;
const KIND_GONE: u32 = 6;
const KIND_REMOVE: u32 = 7;
const KIND_PRUNE: u32 = 8;
const KIND_WEIGHTS: u32 = 9;
const KIND_QUOTA: u32 = 10;

impl From<&Operation> for OpRecord {
    fn from(op: &Operation) -> Self {
        let mut r = OpRecord::default();
        match op {
            Operation::SetMaster(info) => {
                r.kind = KIND_SET_MASTER;
                r.master = Some(info.clone());
            }
            Operation::AdmitAgent(info) => {
                r.kind = KIND_ADMIT;
                r.agent = Some(info.clone());
            }
            Operation::UpdateAgent(info) => {
                r.kind = KIND_UPDATE;
                r.agent = Some(info.clone());
            }
            Operation::MarkUnreachable { agent_id, time } => {
                r.kind = KIND_UNREACHABLE;
                r.agent_id = Some(agent_id.clone());
                r.time_ns = Some(time.nanoseconds);
            }
            Operation::MarkReachable(info) => {
                r.kind = KIND_REACHABLE;
                r.agent = Some(info.clone());
            }
            Operation::MarkGone { agent_id, time } => {
                r.kind = KIND_GONE;
                r.agent_id = Some(agent_id.clone());
                r.time_ns = Some(time.nanoseconds);
            }
            Operation::RemoveAgent(id) => {
                r.kind = KIND_REMOVE;
                r.agent_id = Some(id.clone());
            }
            Operation::Prune {
                now,
                max_age,
                max_count,
            } => {
                r.kind = KIND_PRUNE;
                r.time_ns = Some(now.nanoseconds);
                r.max_age_ns = Some(u64::try_from(max_age.as_nanos()).unwrap_or(u64::MAX));
                r.max_count = Some(*max_count);
            }
            Operation::UpdateWeights(ws) => {
                r.kind = KIND_WEIGHTS;
                r.weights = ws
                    .iter()
                    .map(|(role, w)| v1::WeightInfo {
                        weight: *w,
                        role: Some(role.clone()),
                    })
                    .collect();
            }
            Operation::UpdateQuota(q) => {
                r.kind = KIND_QUOTA;
                r.quota = Some(q.clone());
            }
        }
        r
    }
}

impl OpRecord {
    /// The operation this record holds, or `None` if it is malformed.
    pub fn to_operation(&self) -> Option<Operation> {
        let time = || self.time_ns.map(|nanoseconds| v1::TimeInfo { nanoseconds });
        Some(match self.kind {
            KIND_SET_MASTER => Operation::SetMaster(self.master.clone()?),
            KIND_ADMIT => Operation::AdmitAgent(self.agent.clone()?),
            KIND_UPDATE => Operation::UpdateAgent(self.agent.clone()?),
            KIND_UNREACHABLE => Operation::MarkUnreachable {
                agent_id: self.agent_id.clone()?,
                time: time()?,
            },
            KIND_REACHABLE => Operation::MarkReachable(self.agent.clone()?),
            KIND_GONE => Operation::MarkGone {
                agent_id: self.agent_id.clone()?,
                time: time()?,
            },
            KIND_REMOVE => Operation::RemoveAgent(self.agent_id.clone()?),
            KIND_PRUNE => Operation::Prune {
                now: time()?,
                max_age: Duration::from_nanos(self.max_age_ns?),
                max_count: self.max_count?,
            },
            KIND_WEIGHTS => Operation::UpdateWeights(
                self.weights
                    .iter()
                    .map(|w| (w.role.clone().unwrap_or_default(), w.weight))
                    .collect(),
            ),
            KIND_QUOTA => Operation::UpdateQuota(self.quota.clone()?),
            _ => return None,
        })
    }
}

/// Frames a payload: length, crc32, bytes.
pub fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Reads one framed payload from the front of `buf`: `Some((payload, consumed))`, or
/// `None` when the rest is incomplete or fails its checksum (a torn tail).
pub fn unframe(buf: &[u8]) -> Option<(&[u8], usize)> {
    let header = buf.get(..8)?;
    let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[4..8].try_into().ok()?);
    let payload = buf.get(8..8usize.checked_add(len)?)?;
    (crc32(payload) == crc).then_some((payload, 8 + len))
}

/// Encodes a batch as a framed record.
pub fn encode_batch(seq: u64, ops: &[Operation]) -> Vec<u8> {
    let rec = BatchRecord {
        seq,
        ops: ops.iter().map(OpRecord::from).collect(),
    };
    let mut out = Vec::new();
    frame(&rec.encode_to_vec(), &mut out);
    out
}

/// CRC-32 (IEEE), bitwise; registry records are small and rare enough.
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = make_table();
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

const fn make_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn frames_round_trip_and_torn_tails_are_detected() {
        let mut buf = Vec::new();
        frame(b"hello", &mut buf);
        frame(b"world", &mut buf);
        let (p, n) = unframe(&buf).unwrap();
        assert_eq!(p, b"hello");
        let (p2, _) = unframe(&buf[n..]).unwrap();
        assert_eq!(p2, b"world");
        assert!(unframe(&buf[n..buf.len() - 1]).is_none());
        let mut bad = buf.clone();
        bad[10] ^= 1;
        assert!(unframe(&bad).is_none());
    }

    #[test]
    fn every_operation_round_trips() {
        let info = v1::AgentInfo {
            hostname: "h".into(),
            id: Some(v1::AgentId { value: "a".into() }),
            ..Default::default()
        };
        let t = v1::TimeInfo { nanoseconds: 7 };
        let ops = vec![
            Operation::SetMaster(v1::MasterInfo {
                id: "m".into(),
                ..Default::default()
            }),
            Operation::AdmitAgent(info.clone()),
            Operation::UpdateAgent(info.clone()),
            Operation::MarkUnreachable {
                agent_id: "a".into(),
                time: t,
            },
            Operation::MarkReachable(info),
            Operation::MarkGone {
                agent_id: "a".into(),
                time: t,
            },
            Operation::RemoveAgent("a".into()),
            Operation::Prune {
                now: t,
                max_age: Duration::from_secs(5),
                max_count: 9,
            },
            Operation::UpdateWeights(vec![("r".into(), 2.0)]),
            Operation::UpdateQuota(v1::quota::QuotaConfig {
                role: "r".into(),
                ..Default::default()
            }),
        ];
        for op in ops {
            assert_eq!(OpRecord::from(&op).to_operation(), Some(op));
        }
        assert_eq!(OpRecord::default().to_operation(), None);
    }
}
