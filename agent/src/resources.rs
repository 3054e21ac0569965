//! The agent's total resources and attributes: `--resources` first, then detection for
//! the standard names it leaves out (cpus, mem, disk, ports), as Mesos does.

use std::path::Path;

use mesos_protos::resources::text::parse_value;
use mesos_protos::resources::Resources;
use mesos_protos::v1;

const MB: u64 = 1 << 20;
const GB: u64 = 1 << 30;

/// Errors computing the agent's resources or attributes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResourceError {
    /// `--resources` does not parse or validate.
    #[error("invalid --resources '{text}': {reason}")]
    Resources {
        /// The flag's value.
        text: String,
        /// Why it was rejected.
        reason: String,
    },
    /// `--attributes` does not parse.
    #[error("invalid --attributes '{text}': {reason}")]
    Attributes {
        /// The flag's value.
        text: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// What the machine has, as detection sees it (a seam so tests choose the numbers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineInfo {
    /// Online CPUs.
    pub cpus: u64,
    /// Total memory in bytes.
    pub mem_bytes: u64,
    /// Size in bytes of the file system holding the work dir.
    pub disk_bytes: u64,
}

impl MachineInfo {
    /// Reads this machine: CPUs online, `MemTotal` from `/proc/meminfo`, and the size of
    /// the file system holding `work_dir` (or of its nearest existing parent).
    pub fn detect(work_dir: &Path) -> MachineInfo {
        let cpus = crate::sys::cpus_online().unwrap_or_else(|e| {
            tracing::warn!("failed to detect the number of cpus, using 1: {e}");
            1
        });
        let mem_bytes = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| parse_meminfo_total(&s))
            .unwrap_or_else(|| {
                tracing::warn!("failed to read MemTotal from /proc/meminfo, using 1GB");
                GB
            });
        let mut dir = Some(work_dir);
        let mut disk_bytes = None;
        while let Some(d) = dir {
            if let Ok(b) = crate::sys::filesystem_total_bytes(d) {
                disk_bytes = Some(b);
                break;
            }
            dir = d.parent();
        }
        let disk_bytes = disk_bytes.unwrap_or_else(|| {
            tracing::warn!("failed to size the file system of {}", work_dir.display());
            0
        });
        MachineInfo {
            cpus,
            mem_bytes,
            disk_bytes,
        }
    }
}

/// `MemTotal` in bytes from the text of `/proc/meminfo`.
pub fn parse_meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line.split_whitespace().skip(1);
    let kb: u64 = words.next()?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// Mesos leaves 1GB of memory to the system (half if the machine has under 2GB).
fn default_mem_mb(total: u64) -> u64 {
    let bytes = if total >= 2 * GB {
        total - GB
    } else {
        total / 2
    };
    bytes / MB
}

/// Mesos leaves 5GB of disk to the system (half if the disk is under 10GB).
fn default_disk_mb(total: u64) -> u64 {
    let bytes = if total >= 10 * GB {
        total - 5 * GB
    } else {
        total / 2
    };
    bytes / MB
}

/// The agent's total resources: those `--resources` names, plus detected cpus, mem, disk
/// and the default ports `[31000-32000]` for each of those names it does not mention.
pub fn agent_resources(
    flag: Option<&str>,
    default_role: &str,
    machine: MachineInfo,
) -> Result<Vec<v1::Resource>, ResourceError> {
    let given = match flag {
        Some(text) => {
            Resources::parse(text, default_role).map_err(|e| ResourceError::Resources {
                text: text.to_string(),
                reason: e.message(),
            })?
        }
        None => Resources::default(),
    };
    let names = given.names();
    let mut out = given.to_vec();
    let mut add = |name: &str, value: String| {
        if names.iter().any(|n| n == name) {
            return;
        }
        // These texts are built here and always parse; a failure would be our bug, which
        // we log rather than panic on.
        match mesos_protos::resources::text::parse_resource(name, &value, default_role) {
            Ok(r) => out.push(r),
            Err(e) => tracing::error!("failed to build default resource {name}: {e}"),
        }
    };
    add("cpus", machine.cpus.to_string());
    add("mem", default_mem_mb(machine.mem_bytes).to_string());
    add("disk", default_disk_mb(machine.disk_bytes).to_string());
    add("ports", "[31000-32000]".to_string());
    Ok(out)
}

/// Parses `--attributes` (`name:value;...`); values are scalars, ranges or text.
pub fn parse_attributes(text: &str) -> Result<Vec<v1::Attribute>, ResourceError> {
    let err = |reason: String| ResourceError::Attributes {
        text: text.to_string(),
        reason,
    };
    let mut out = Vec::new();
    for token in text.split(';').map(str::trim).filter(|t| !t.is_empty()) {
        let Some((name, value)) = token.split_once(':') else {
            return Err(err(format!("missing ':' in '{token}'")));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(err(format!("empty attribute name in '{token}'")));
        }
        let value = parse_value(value).map_err(|e| err(e.message()))?;
        let mut attr = v1::Attribute {
            name: name.to_string(),
            r#type: value.r#type,
            ..Default::default()
        };
        match value.r#type() {
            v1::value::Type::Scalar => attr.scalar = value.scalar,
            v1::value::Type::Ranges => attr.ranges = value.ranges,
            v1::value::Type::Text => attr.text = value.text,
            v1::value::Type::Set => {
                return Err(err(format!(
                    "attribute '{name}' is a set; sets are not supported"
                )))
            }
        }
        out.push(attr);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> MachineInfo {
        MachineInfo {
            cpus: 8,
            mem_bytes: 16 * GB,
            disk_bytes: 100 * GB,
        }
    }

    fn scalar(rs: &[v1::Resource], name: &str) -> f64 {
        rs.iter()
            .find(|r| r.name == name)
            .and_then(|r| r.scalar.as_ref())
            .map(|s| s.value)
            .unwrap()
    }

    #[test]
    fn detection_follows_mesos_rules() {
        let rs = agent_resources(None, "*", machine()).unwrap();
        assert_eq!(scalar(&rs, "cpus"), 8.0);
        assert_eq!(scalar(&rs, "mem"), 15.0 * 1024.0);
        assert_eq!(scalar(&rs, "disk"), 95.0 * 1024.0);
        let ports = rs.iter().find(|r| r.name == "ports").unwrap();
        let range = &ports.ranges.as_ref().unwrap().range[0];
        assert_eq!((range.begin, range.end), (31000, 32000));

        let small = MachineInfo {
            cpus: 1,
            mem_bytes: GB,
            disk_bytes: 4 * GB,
        };
        let rs = agent_resources(None, "*", small).unwrap();
        assert_eq!(scalar(&rs, "mem"), 512.0);
        assert_eq!(scalar(&rs, "disk"), 2048.0);
    }

    #[test]
    fn flag_overrides_named_resources_only() {
        let rs = agent_resources(Some("cpus:64;mem:65536;ports:[1-10]"), "*", machine()).unwrap();
        assert_eq!(scalar(&rs, "cpus"), 64.0);
        assert_eq!(scalar(&rs, "mem"), 65536.0);
        assert_eq!(scalar(&rs, "disk"), 95.0 * 1024.0);
        let ports: Vec<_> = rs.iter().filter(|r| r.name == "ports").collect();
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].ranges.as_ref().unwrap().range[0].end, 10);
        // Extra names pass through.
        let rs = agent_resources(Some("gpus:0;foo:3"), "*", machine()).unwrap();
        assert_eq!(scalar(&rs, "foo"), 3.0);
        assert_eq!(scalar(&rs, "cpus"), 8.0);
    }

    #[test]
    fn bad_resources_name_the_value() {
        let e = agent_resources(Some("cpus:abc"), "*", machine()).unwrap_err();
        assert!(e.to_string().contains("cpus:abc"), "{e}");
        assert!(agent_resources(Some("cpus:-1"), "*", machine()).is_err());
    }

    #[test]
    fn attributes() {
        let a = parse_attributes("rack:r1;zone:3;slots:[1-4]").unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].text.as_ref().unwrap().value, "r1");
        assert_eq!(a[1].scalar.as_ref().unwrap().value, 3.0);
        assert_eq!(a[2].ranges.as_ref().unwrap().range[0].end, 4);
        assert!(parse_attributes("rack").is_err());
        assert!(parse_attributes("s:{a,b}").is_err());
        assert!(parse_attributes(":x").is_err());
        assert!(parse_attributes("").unwrap().is_empty());
    }

    #[test]
    fn meminfo() {
        let t = "MemTotal:       24609000 kB\nMemFree: 1 kB\n";
        assert_eq!(parse_meminfo_total(t), Some(24609000 * 1024));
        assert_eq!(parse_meminfo_total("nothing"), None);
    }

    #[test]
    fn detect_reads_this_machine() {
        let dir = tempfile::tempdir().unwrap();
        let m = MachineInfo::detect(&dir.path().join("not/yet/created"));
        assert!(m.cpus >= 1 && m.mem_bytes > 0 && m.disk_bytes > 0);
    }
}
