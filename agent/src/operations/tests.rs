use super::*;
use libprocess::Clock;

fn op_update(op: &[u8], state: OperationState) -> UpdateOperationStatusMessage {
    UpdateOperationStatusMessage {
        framework_id: Some(v1::FrameworkId { value: "fw".into() }),
        slave_id: None,
        status: v1::OperationStatus {
            state: state as i32,
            uuid: Some(new_uuid()),
            ..Default::default()
        },
        latest_status: None,
        operation_uuid: Some(v1::Uuid { value: op.to_vec() }),
    }
}

fn status_uuid_bytes(u: &UpdateOperationStatusMessage) -> Vec<u8> {
    u.status.uuid.clone().unwrap().value
}

fn paused_clock() -> Clock {
    let c = Clock::new();
    c.pause();
    c
}

#[test]
fn retried_with_doubling_back_off_until_acknowledged() {
    let clock = paused_clock();
    let mut m = OperationUpdateManager::new();
    let op = new_uuid().value;
    let u = op_update(&op, OperationState::OperationFinished);
    // Paused: queued, not sent.
    assert!(m.update(u.clone(), None, clock.now()).unwrap().is_none());
    let sent = m.resume(clock.now());
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].latest_status.as_ref().unwrap().state(),
        OperationState::OperationFinished
    );
    let mut waits = Vec::new();
    let mut last = clock.now();
    for _ in 0..8 {
        let d = m.next_deadline().unwrap();
        waits.push(d.saturating_since(last).as_secs());
        clock.advance(d.saturating_since(clock.now()));
        last = clock.now();
        assert_eq!(m.timeouts(clock.now()).len(), 1);
    }
    assert_eq!(waits, [10, 20, 40, 80, 160, 320, 600, 600]);
    // A stray ack is refused; the right one closes the (terminal) stream.
    assert!(m.acknowledge(&op, &new_uuid().value, clock.now()).is_err());
    let ack = m
        .acknowledge(&op, &status_uuid_bytes(&u), clock.now())
        .unwrap();
    assert_eq!(
        ack,
        OperationAck::Acknowledged {
            next: None,
            stream_closed: true
        }
    );
    assert_eq!(m.stream_count(), 0);
    assert!(m.next_deadline().is_none());
    // A duplicate update after the stream closed opens nothing new that is sent twice.
    assert!(m
        .acknowledge(&op, &status_uuid_bytes(&u), clock.now())
        .is_err());
}

#[test]
fn pause_stops_retries_and_duplicates_are_ignored() {
    let clock = paused_clock();
    let mut m = OperationUpdateManager::new();
    m.resume(clock.now());
    let op = new_uuid().value;
    let u = op_update(&op, OperationState::OperationFailed);
    assert!(m.update(u.clone(), None, clock.now()).unwrap().is_some());
    assert!(m.update(u.clone(), None, clock.now()).unwrap().is_none());
    assert_eq!(m.pending(&op).len(), 1);
    m.pause();
    clock.advance(Duration::from_secs(3600));
    assert!(m.timeouts(clock.now()).is_empty());
    assert_eq!(m.resume(clock.now()).len(), 1);
    assert!(m
        .update(
            op_update(b"", OperationState::OperationFinished),
            None,
            clock.now()
        )
        .is_err());
}

#[test]
fn streams_recover_from_their_log() {
    let clock = paused_clock();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ops/u1/operation.updates");
    let op = new_uuid().value;
    let u = op_update(&op, OperationState::OperationFinished);
    {
        let mut m = OperationUpdateManager::new();
        m.update(u.clone(), Some(&log), clock.now()).unwrap();
    }
    // Restart before the ack: the update is pending again.
    let mut m = OperationUpdateManager::new();
    let r = m.recover(&op, &log, true).unwrap();
    assert!(!r.terminated);
    assert_eq!(r.updates, vec![u.clone()]);
    let resent = m.resume(clock.now());
    assert_eq!(resent.len(), 1);
    assert_eq!(resent[0].status, u.status);
    m.acknowledge(&op, &status_uuid_bytes(&u), clock.now())
        .unwrap();
    // Restart after the ack: nothing left to send.
    let mut m = OperationUpdateManager::new();
    let r = m.recover(&op, &log, true).unwrap();
    assert!(r.terminated);
    assert_eq!(m.stream_count(), 0);
}

fn disk(mb: f64, role: Option<&str>) -> v1::Resource {
    v1::Resource {
        name: "disk".into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value: mb }),
        reservations: role
            .map(|r| v1::resource::ReservationInfo {
                r#type: Some(v1::resource::reservation_info::Type::Dynamic as i32),
                role: Some(r.into()),
                ..Default::default()
            })
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

#[test]
fn checkpointed_resources_take_the_place_of_plain_ones() {
    use mesos_protos::resources::Resources;
    let flag = Resources::from(vec![disk(1000.0, None)]);
    let ckpt = Resources::from(vec![disk(300.0, Some("r1"))]);
    let total = state::apply_checkpointed(&flag, &ckpt).unwrap();
    assert_eq!(
        total,
        Resources::from(vec![disk(700.0, None), disk(300.0, Some("r1"))])
    );
    let too_big = Resources::from(vec![disk(3000.0, Some("r1"))]);
    let e = state::apply_checkpointed(&flag, &too_big).unwrap_err();
    assert!(e.contains("incompatible agent resources"), "{e}");
    // Pre-refinement (`role` + `reservation`) input converts.
    #[allow(deprecated)]
    let old = v1::Resource {
        role: Some("r1".into()),
        reservation: Some(v1::resource::ReservationInfo::default()),
        ..disk(300.0, None)
    };
    assert_eq!(state::from_wire(&[old]).unwrap(), ckpt);
}

#[test]
fn resource_state_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let layout = crate::paths::Layout::new(dir.path(), dir.path().join("run"));
    assert!(state::read_state(&layout).unwrap().is_none());
    // Only resources.info (an older layout): read as the state.
    state::write_resources_info(&layout, &[disk(5.0, Some("r"))]).unwrap();
    let s = state::read_state(&layout).unwrap().unwrap();
    assert_eq!(s.resources, vec![disk(5.0, Some("r"))]);
    assert!(!layout.resources_target_file().exists());
    let full = state::ResourceState {
        operations: vec![v1::Operation {
            uuid: new_uuid(),
            ..Default::default()
        }],
        resources: vec![disk(7.0, Some("r"))],
    };
    state::write_state(&layout, &full).unwrap();
    assert_eq!(state::read_state(&layout).unwrap().unwrap(), full);
}
