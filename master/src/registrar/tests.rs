use std::fs::OpenOptions;
use std::io::Write;
use std::time::Duration;

use mesos_protos::v1;

use super::*;

fn info(id: &str) -> v1::AgentInfo {
    v1::AgentInfo {
        hostname: format!("host-{id}"),
        id: Some(v1::AgentId { value: id.into() }),
        port: Some(5051),
        ..Default::default()
    }
}

fn t(secs: i64) -> v1::TimeInfo {
    v1::TimeInfo {
        nanoseconds: secs * 1_000_000_000,
    }
}

fn file_registrar(dir: &std::path::Path) -> Registrar {
    Registrar::recover(Box::new(FileStore::open(dir).unwrap())).unwrap()
}

#[test]
fn operations_follow_mesos_semantics() {
    let mut r = RegistryState::default();
    assert_eq!(Operation::AdmitAgent(info("a")).apply(&mut r), Ok(true));
    assert_eq!(
        Operation::AdmitAgent(info("a")).apply(&mut r),
        Err(OperationError::AlreadyAdmitted("a".into()))
    );
    let mut no_id = info("x");
    no_id.id = None;
    assert!(matches!(
        Operation::AdmitAgent(no_id).apply(&mut r),
        Err(OperationError::MissingId(_))
    ));
    let unreachable = Operation::MarkUnreachable {
        agent_id: "a".into(),
        time: t(10),
    };
    assert_eq!(unreachable.apply(&mut r), Ok(true));
    assert!(r.agents.is_empty() && r.unreachable.contains_key("a"));
    assert_eq!(
        unreachable.apply(&mut r),
        Err(OperationError::NotAdmitted("a".into()))
    );
    assert_eq!(Operation::MarkReachable(info("a")).apply(&mut r), Ok(true));
    assert_eq!(Operation::MarkReachable(info("a")).apply(&mut r), Ok(false));
    assert!(r.unreachable.is_empty() && r.agents.contains_key("a"));
    let gone = Operation::MarkGone {
        agent_id: "a".into(),
        time: t(20),
    };
    assert_eq!(gone.apply(&mut r), Ok(true));
    assert_eq!(gone.apply(&mut r), Ok(false));
    assert_eq!(
        Operation::AdmitAgent(info("a")).apply(&mut r),
        Err(OperationError::Gone("a".into()))
    );
    assert_eq!(
        Operation::MarkReachable(info("a")).apply(&mut r),
        Err(OperationError::Gone("a".into()))
    );
    let mut changed = info("b");
    Operation::AdmitAgent(changed.clone())
        .apply(&mut r)
        .unwrap();
    changed.hostname = "new".into();
    assert_eq!(
        Operation::UpdateAgent(changed.clone()).apply(&mut r),
        Ok(true)
    );
    assert_eq!(Operation::UpdateAgent(changed).apply(&mut r), Ok(false));
    assert_eq!(Operation::RemoveAgent("b".into()).apply(&mut r), Ok(true));
    assert_eq!(Operation::RemoveAgent("b".into()).apply(&mut r), Ok(false));
}

#[test]
fn prune_drops_old_and_excess_entries() {
    let mut r = RegistryState::default();
    for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
        Operation::AdmitAgent(info(id)).apply(&mut r).unwrap();
        Operation::MarkUnreachable {
            agent_id: (*id).into(),
            time: t(i as i64 * 100),
        }
        .apply(&mut r)
        .unwrap();
    }
    let prune = Operation::Prune {
        now: t(350),
        max_age: Duration::from_secs(300),
        max_count: 2,
    };
    assert_eq!(prune.apply(&mut r), Ok(true));
    // "a" (age 350) is too old; of b, c, d the oldest beyond two goes.
    assert_eq!(r.unreachable.keys().collect::<Vec<_>>(), vec!["c", "d"]);
    assert_eq!(prune.apply(&mut r), Ok(false));
}

#[test]
fn weights_and_quota_are_recorded() {
    let mut r = RegistryState::default();
    let w = Operation::UpdateWeights(vec![("dev".into(), 2.0)]);
    assert_eq!(w.apply(&mut r), Ok(true));
    assert_eq!(w.apply(&mut r), Ok(false));
    let mut q = v1::quota::QuotaConfig {
        role: "dev".into(),
        ..Default::default()
    };
    q.guarantees
        .insert("cpus".into(), v1::value::Scalar { value: 4.0 });
    assert_eq!(Operation::UpdateQuota(q.clone()).apply(&mut r), Ok(true));
    q.guarantees.clear();
    assert_eq!(Operation::UpdateQuota(q).apply(&mut r), Ok(true));
    assert!(r.quotas.is_empty());
}

#[test]
fn registry_proto_round_trips() {
    let mut r = RegistryState::default();
    Operation::AdmitAgent(info("a")).apply(&mut r).unwrap();
    Operation::AdmitAgent(info("b")).apply(&mut r).unwrap();
    Operation::MarkUnreachable {
        agent_id: "b".into(),
        time: t(5),
    }
    .apply(&mut r)
    .unwrap();
    Operation::UpdateWeights(vec![("x".into(), 3.0)])
        .apply(&mut r)
        .unwrap();
    assert_eq!(RegistryState::from_proto(r.to_proto()), r);
}

#[test]
fn file_store_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut reg = file_registrar(dir.path());
        let res = reg
            .apply(vec![
                Operation::AdmitAgent(info("a")),
                Operation::AdmitAgent(info("b")),
                Operation::AdmitAgent(info("a")),
            ])
            .unwrap();
        assert_eq!(res[2], Err(OperationError::AlreadyAdmitted("a".into())));
        reg.apply(vec![Operation::MarkUnreachable {
            agent_id: "b".into(),
            time: t(3),
        }])
        .unwrap();
    }
    let reg = file_registrar(dir.path());
    assert_eq!(reg.state().agents.keys().collect::<Vec<_>>(), vec!["a"]);
    assert_eq!(reg.state().unreachable["b"], t(3));
}

#[test]
fn snapshots_compact_the_log_and_recovery_still_matches() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let store = FileStore::open(dir.path())
            .unwrap()
            .with_snapshot_floor(512);
        let mut reg = Registrar::recover(Box::new(store)).unwrap();
        for i in 0..200 {
            reg.apply(vec![Operation::AdmitAgent(info(&format!("a{i}")))])
                .unwrap();
            if i % 3 == 0 {
                reg.apply(vec![Operation::MarkUnreachable {
                    agent_id: format!("a{i}"),
                    time: t(i),
                }])
                .unwrap();
            }
        }
        reg.state().clone()
    };
    let log_len = std::fs::metadata(dir.path().join("registry/log"))
        .unwrap()
        .len();
    assert!(log_len < 4096, "log was not compacted: {log_len} bytes");
    assert!(dir.path().join("registry/snapshot").exists());
    let reg = file_registrar(dir.path());
    assert_eq!(reg.state(), &expected);
    assert_eq!(reg.state().agents.len(), 133);
}

#[test]
fn a_torn_tail_is_cut_and_writing_continues() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut reg = file_registrar(dir.path());
        reg.apply(vec![Operation::AdmitAgent(info("a"))]).unwrap();
    }
    let log = dir.path().join("registry/log");
    let good = std::fs::metadata(&log).unwrap().len();
    OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(&[40, 0, 0, 0, 1, 2, 3])
        .unwrap();
    {
        let mut reg = file_registrar(dir.path());
        assert_eq!(reg.state().agents.len(), 1);
        assert_eq!(std::fs::metadata(&log).unwrap().len(), good);
        reg.apply(vec![Operation::AdmitAgent(info("b"))]).unwrap();
    }
    let reg = file_registrar(dir.path());
    assert_eq!(
        reg.state().agents.keys().collect::<Vec<_>>(),
        vec!["a", "b"]
    );
}

#[test]
fn a_corrupt_snapshot_is_an_error_not_an_empty_registry() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("registry")).unwrap();
    std::fs::write(dir.path().join("registry/snapshot"), b"garbage!garbage").unwrap();
    let err = Registrar::recover(Box::new(FileStore::open(dir.path()).unwrap())).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
}

struct FailingStore;

impl RegistryStore for FailingStore {
    fn recover(&mut self) -> Result<RegistryState, StoreError> {
        Ok(RegistryState::default())
    }
    fn store(&mut self, _: &[Operation], _: &RegistryState) -> Result<(), StoreError> {
        Err(StoreError::Corrupt("disk on fire".into()))
    }
}

#[test]
fn a_failed_store_poisons_the_registrar() {
    let mut reg = Registrar::recover(Box::new(FailingStore)).unwrap();
    assert!(reg.apply(vec![Operation::AdmitAgent(info("a"))]).is_err());
    assert!(matches!(
        reg.apply(vec![Operation::AdmitAgent(info("b"))]),
        Err(StoreError::Failed(_))
    ));
}

#[test]
fn ten_thousand_agents_in_batches_recover() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut reg = file_registrar(dir.path());
        for b in 0..50 {
            let batch = (0..200)
                .map(|i| Operation::AdmitAgent(info(&format!("a{}", b * 200 + i))))
                .collect();
            let res = reg.apply(batch).unwrap();
            assert!(res.iter().all(|r| *r == Ok(true)));
        }
    }
    let reg = file_registrar(dir.path());
    assert_eq!(reg.state().agents.len(), 10_000);
}

#[test]
fn in_memory_store_counts_only_changing_batches() {
    let mut store = InMemoryStore::default();
    let mut state = RegistryState::default();
    store.store(&[], &state).unwrap();
    Operation::AdmitAgent(info("a")).apply(&mut state).unwrap();
    store
        .store(&[Operation::AdmitAgent(info("a"))], &state)
        .unwrap();
    assert_eq!(store.batches(), 1);
    assert_eq!(store.recover().unwrap(), state);
}
