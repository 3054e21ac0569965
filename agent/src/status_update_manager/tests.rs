use super::*;
use libprocess::Clock;
use mesos_protos::v1;

fn update(task: &str, state: TaskState) -> StatusUpdate {
    let uuid = uuid::Uuid::new_v4().as_bytes().to_vec();
    StatusUpdate {
        framework_id: v1::FrameworkId { value: "fw".into() },
        executor_id: None,
        slave_id: None,
        status: v1::TaskStatus {
            task_id: v1::TaskId { value: task.into() },
            state: state as i32,
            uuid: Some(uuid.clone()),
            ..Default::default()
        },
        timestamp: 0.0,
        uuid: Some(uuid),
        latest_state: None,
    }
}

fn paused_clock() -> Clock {
    let c = Clock::new();
    c.pause();
    c
}

fn forwarded(o: UpdateOutcome) -> Option<StatusUpdate> {
    match o {
        UpdateOutcome::Accepted { forward } => forward.map(|b| *b),
        UpdateOutcome::Duplicate => panic!("unexpected duplicate"),
    }
}

fn running_manager(clock: &Clock) -> StatusUpdateManager {
    let mut m = StatusUpdateManager::new();
    assert!(m.resume(clock.now()).is_empty());
    m
}

#[test]
fn only_the_head_is_in_flight_with_latest_state() {
    let clock = paused_clock();
    let mut m = running_manager(&clock);
    let u1 = update("t", TaskState::TaskRunning);
    let u2 = update("t", TaskState::TaskFinished);
    let sent = forwarded(m.update(u1.clone(), None, clock.now()).unwrap()).unwrap();
    assert_eq!(sent.uuid, u1.uuid);
    assert_eq!(sent.latest_state, Some(TaskState::TaskRunning as i32));
    // The second update waits behind the first.
    assert!(forwarded(m.update(u2.clone(), None, clock.now()).unwrap()).is_none());
    assert_eq!(m.pending("fw", "t").len(), 2);
    // A retry of the head now reports the newest state.
    clock.advance(RETRY_INTERVAL_MIN);
    let retried = m.timeouts(clock.now());
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].uuid, u1.uuid);
    assert_eq!(
        retried[0].latest_state,
        Some(TaskState::TaskFinished as i32)
    );
    // Acking the head sends the next one.
    match m
        .acknowledge("fw", "t", u1.uuid.as_deref().unwrap(), clock.now())
        .unwrap()
    {
        AckOutcome::Acknowledged {
            next,
            stream_closed,
        } => {
            assert!(!stream_closed);
            assert_eq!(next.unwrap().uuid, u2.uuid);
        }
        other => panic!("{other:?}"),
    }
    // Acking the terminal update closes the stream.
    match m
        .acknowledge("fw", "t", u2.uuid.as_deref().unwrap(), clock.now())
        .unwrap()
    {
        AckOutcome::Acknowledged {
            next,
            stream_closed,
        } => assert!(next.is_none() && stream_closed),
        other => panic!("{other:?}"),
    }
    assert_eq!(m.stream_count(), 0);
    assert!(m.next_deadline().is_none());
}

#[test]
fn retries_back_off_from_10s_doubling_to_10min() {
    let clock = paused_clock();
    let mut m = running_manager(&clock);
    let u = update("t", TaskState::TaskRunning);
    let start = clock.now();
    forwarded(m.update(u.clone(), None, start).unwrap()).unwrap();
    let mut gaps = Vec::new();
    let mut last = start;
    for _ in 0..9 {
        let deadline = m.next_deadline().unwrap();
        // Nothing is due a moment before the deadline.
        clock.advance(deadline - clock.now() - Duration::from_millis(1));
        assert!(m.timeouts(clock.now()).is_empty());
        clock.advance(Duration::from_millis(1));
        let sent = m.timeouts(clock.now());
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].uuid, u.uuid);
        gaps.push((clock.now() - last).as_secs());
        last = clock.now();
    }
    assert_eq!(gaps, [10, 20, 40, 80, 160, 320, 600, 600, 600]);
}

#[test]
fn duplicates_and_unexpected_acks() {
    let clock = paused_clock();
    let mut m = running_manager(&clock);
    let u1 = update("t", TaskState::TaskRunning);
    let u2 = update("t", TaskState::TaskRunning);
    forwarded(m.update(u1.clone(), None, clock.now()).unwrap()).unwrap();
    m.update(u2.clone(), None, clock.now()).unwrap();
    assert_eq!(
        m.update(u1.clone(), None, clock.now()).unwrap(),
        UpdateOutcome::Duplicate
    );
    // An ack for the second update while the first is in flight is refused.
    let e = m
        .acknowledge("fw", "t", u2.uuid.as_deref().unwrap(), clock.now())
        .unwrap_err();
    assert!(matches!(e, StatusUpdateError::UnexpectedAck { .. }), "{e}");
    m.acknowledge("fw", "t", u1.uuid.as_deref().unwrap(), clock.now())
        .unwrap();
    // A retried ack, and a retried update the executor re-sends after the ack.
    assert_eq!(
        m.acknowledge("fw", "t", u1.uuid.as_deref().unwrap(), clock.now())
            .unwrap(),
        AckOutcome::Duplicate
    );
    assert_eq!(
        m.update(u1, None, clock.now()).unwrap(),
        UpdateOutcome::Duplicate
    );
    assert!(matches!(
        m.acknowledge("fw", "other", &[1; 16], clock.now()),
        Err(StatusUpdateError::UnknownStream { .. })
    ));
}

#[test]
fn bad_updates_are_errors() {
    let clock = paused_clock();
    let mut m = running_manager(&clock);
    let mut u = update("t", TaskState::TaskRunning);
    u.uuid = None;
    assert!(matches!(
        m.update(u, None, clock.now()),
        Err(StatusUpdateError::Invalid { .. })
    ));
    let mut u = update("", TaskState::TaskRunning);
    u.uuid = Some(vec![1; 16]);
    assert!(m.update(u, None, clock.now()).is_err());
    assert_eq!(m.stream_count(), 0);
}

#[test]
fn paused_manager_queues_and_resume_sends_every_head() {
    let clock = paused_clock();
    let mut m = StatusUpdateManager::new();
    assert!(m.is_paused());
    let a = update("a", TaskState::TaskRunning);
    let b = update("b", TaskState::TaskRunning);
    assert!(forwarded(m.update(a.clone(), None, clock.now()).unwrap()).is_none());
    assert!(forwarded(m.update(b.clone(), None, clock.now()).unwrap()).is_none());
    clock.advance(Duration::from_secs(3600));
    assert!(m.timeouts(clock.now()).is_empty());
    let sent = m.resume(clock.now());
    assert_eq!(sent.len(), 2);
    assert_eq!(m.next_deadline(), Some(clock.now() + RETRY_INTERVAL_MIN));
    // Pausing again stops the retries.
    m.pause();
    assert!(m.next_deadline().is_none());
    clock.advance(RETRY_INTERVAL_MAX);
    assert!(m.timeouts(clock.now()).is_empty());
    m.cleanup_framework("fw");
    assert_eq!(m.stream_count(), 0);
}

#[test]
fn checkpointed_stream_recovers_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tasks/t/task.updates");
    let clock = paused_clock();
    let u1 = update("t", TaskState::TaskRunning);
    let u2 = update("t", TaskState::TaskFinished);
    {
        let mut m = running_manager(&clock);
        m.update(u1.clone(), Some(&log), clock.now()).unwrap();
        m.update(u2.clone(), Some(&log), clock.now()).unwrap();
        m.acknowledge("fw", "t", u1.uuid.as_deref().unwrap(), clock.now())
            .unwrap();
        assert_eq!(m.log_path("fw", "t").as_deref(), Some(log.as_path()));
    }
    // A restarted agent finds the unacknowledged terminal update and re-sends it.
    let mut m = StatusUpdateManager::new();
    let r = m.recover("fw", "t", &log, true).unwrap();
    assert!(!r.terminated && !r.truncated);
    assert_eq!(r.updates.len(), 2);
    assert_eq!(m.pending("fw", "t").len(), 1);
    assert_eq!(
        m.update(u1.clone(), None, clock.now()).unwrap(),
        UpdateOutcome::Duplicate
    );
    let sent = m.resume(clock.now());
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].uuid, u2.uuid);
    // The recovered stream keeps checkpointing: after this ack the log says terminated.
    m.acknowledge("fw", "t", u2.uuid.as_deref().unwrap(), clock.now())
        .unwrap();
    let mut again = StatusUpdateManager::new();
    let r = again.recover("fw", "t", &log, true).unwrap();
    assert!(r.terminated);
    assert_eq!(again.stream_count(), 0);
}

#[test]
fn recovery_of_a_foreign_ack_depends_on_strict() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("task.updates");
    let u1 = update("t", TaskState::TaskRunning);
    {
        let mut l = RecordLog::open(&log).unwrap();
        l.append(&record_update(&u1)).unwrap();
        l.append(&record_ack(&[9; 16])).unwrap();
    }
    let mut m = StatusUpdateManager::new();
    assert!(m.recover("fw", "t", &log, true).is_err());
    let r = m.recover("fw", "t", &log, false).unwrap();
    assert_eq!(r.updates.len(), 1);
    assert_eq!(m.pending("fw", "t").len(), 1);
}

#[test]
fn terminal_states() {
    assert!(is_terminal_state(TaskState::TaskFinished));
    assert!(is_terminal_state(TaskState::TaskGoneByOperator));
    assert!(!is_terminal_state(TaskState::TaskRunning));
    assert!(!is_terminal_state(TaskState::TaskUnreachable));
    assert!(!is_terminal_state(TaskState::TaskKilling));
}
