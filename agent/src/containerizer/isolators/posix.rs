//! `posix/cpu` and `posix/mem`: no enforcement, only usage, summed over the processes of
//! the container's session (its first process started a new session, so every process it
//! forks stays in it unless it leaves on purpose).

use std::collections::HashMap;

use mesos_protos::v1;
use parking_lot::Mutex;

use crate::containerizer::isolator::{Isolator, IsolatorError, RecoveredState};
use crate::flags::AgentFlags;
use crate::proc_stat::session_processes;

#[derive(Default)]
struct Pids(Mutex<HashMap<String, i32>>);

impl Pids {
    fn recover(&self, states: &[RecoveredState]) {
        let mut m = self.0.lock();
        for s in states {
            m.insert(s.container_id.clone(), s.pid);
        }
    }
    fn insert(&self, container: &str, pid: i32) {
        self.0.lock().insert(container.to_string(), pid);
    }
    fn get(&self, isolator: &'static str, container: &str) -> Result<i32, IsolatorError> {
        self.0
            .lock()
            .get(container)
            .copied()
            .ok_or_else(|| IsolatorError::Failed {
                isolator,
                container: container.into(),
                reason: "unknown container".into(),
            })
    }
    fn remove(&self, container: &str) {
        self.0.lock().remove(container);
    }
}

/// `posix/cpu`: reports CPU times of the container's processes.
#[derive(Default)]
pub struct PosixCpu {
    pids: Pids,
}

/// `posix/mem`: reports the resident memory of the container's processes.
#[derive(Default)]
pub struct PosixMem {
    pids: Pids,
}

/// Constructor for the isolator table.
pub fn cpu(_flags: &AgentFlags) -> Box<dyn Isolator> {
    Box::<PosixCpu>::default()
}

/// Constructor for the isolator table.
pub fn mem(_flags: &AgentFlags) -> Box<dyn Isolator> {
    Box::<PosixMem>::default()
}

impl Isolator for PosixCpu {
    fn name(&self) -> &'static str {
        "posix/cpu"
    }
    fn recover(&self, states: &[RecoveredState], _orphans: &[String]) -> Result<(), IsolatorError> {
        self.pids.recover(states);
        Ok(())
    }
    fn isolate(&self, container: &str, pid: i32) -> Result<(), IsolatorError> {
        self.pids.insert(container, pid);
        Ok(())
    }
    fn usage(
        &self,
        container: &str,
        stats: &mut v1::ResourceStatistics,
    ) -> Result<(), IsolatorError> {
        let pid = self.pids.get(self.name(), container)?;
        let ticks = crate::sys::clock_ticks() as f64;
        let procs = session_processes(pid);
        stats.cpus_user_time_secs = Some(procs.iter().map(|p| p.utime).sum::<u64>() as f64 / ticks);
        stats.cpus_system_time_secs =
            Some(procs.iter().map(|p| p.stime).sum::<u64>() as f64 / ticks);
        Ok(())
    }
    fn cleanup(&self, container: &str) -> Result<(), IsolatorError> {
        self.pids.remove(container);
        Ok(())
    }
}

impl Isolator for PosixMem {
    fn name(&self) -> &'static str {
        "posix/mem"
    }
    fn recover(&self, states: &[RecoveredState], _orphans: &[String]) -> Result<(), IsolatorError> {
        self.pids.recover(states);
        Ok(())
    }
    fn isolate(&self, container: &str, pid: i32) -> Result<(), IsolatorError> {
        self.pids.insert(container, pid);
        Ok(())
    }
    fn usage(
        &self,
        container: &str,
        stats: &mut v1::ResourceStatistics,
    ) -> Result<(), IsolatorError> {
        let pid = self.pids.get(self.name(), container)?;
        let page = crate::sys::page_size();
        let rss: u64 = session_processes(pid).iter().map(|p| p.rss_pages).sum();
        stats.mem_rss_bytes = Some(rss.saturating_mul(page));
        Ok(())
    }
    fn cleanup(&self, container: &str) -> Result<(), IsolatorError> {
        self.pids.remove(container);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_of_our_own_session() {
        let me = std::process::id() as i32;
        let own = std::fs::read_to_string(format!("/proc/{me}/stat")).unwrap();
        let sid = crate::proc_stat::parse_stat(&own).unwrap().session;
        let flags = AgentFlags::defaults();
        let (cpu, mem) = (cpu(&flags), mem(&flags));
        cpu.isolate("c", sid).unwrap();
        mem.isolate("c", sid).unwrap();
        let mut stats = v1::ResourceStatistics::default();
        cpu.usage("c", &mut stats).unwrap();
        mem.usage("c", &mut stats).unwrap();
        assert!(stats.mem_rss_bytes.unwrap() > 0);
        assert!(stats.cpus_user_time_secs.is_some());
        cpu.cleanup("c").unwrap();
        assert!(cpu.usage("c", &mut stats).is_err());
    }
}
