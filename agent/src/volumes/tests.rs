use super::*;
use mesos_protos::v1::resource::{disk_info, DiskInfo, ReservationInfo};

fn volume(role: &str, id: &str, container_path: &str) -> v1::Resource {
    v1::Resource {
        name: "disk".into(),
        r#type: v1::value::Type::Scalar as i32,
        scalar: Some(v1::value::Scalar { value: 64.0 }),
        reservations: vec![ReservationInfo {
            r#type: Some(v1::resource::reservation_info::Type::Dynamic as i32),
            role: Some(role.into()),
            ..Default::default()
        }],
        disk: Some(DiskInfo {
            persistence: Some(disk_info::Persistence {
                id: id.into(),
                principal: None,
            }),
            volume: Some(v1::Volume {
                mode: v1::volume::Mode::Rw as i32,
                container_path: container_path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn folders_follow_the_checkpointed_volumes() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path(), dir.path().join("run"));
    let v = volume("eng/ops", "v1", "data");
    let path = volume_path(&layout, &v).unwrap();
    assert_eq!(path, dir.path().join("volumes/roles/eng ops/v1"));
    let none = Resources::new();
    let one = Resources::from(&v);
    create_missing(&layout, &none, &one).unwrap();
    assert!(path.is_dir());
    std::fs::write(path.join("f"), "x").unwrap();
    // Already there: kept with its content.
    create_missing(&layout, &none, &one).unwrap();
    assert!(path.join("f").is_file());
    remove_dropped(&layout, &one, &none).unwrap();
    assert!(!path.exists());
    let mut unreserved = v.clone();
    unreserved.reservations.clear();
    assert!(volume_path(&layout, &unreserved).is_err());
}

#[test]
fn attach_release_and_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path(), dir.path().join("run"));
    let sandbox = dir.path().join("sandbox");
    std::fs::create_dir_all(&sandbox).unwrap();
    let v = volume("r", "v1", "data");
    let one = Resources::from(&v);
    create_missing(&layout, &Resources::new(), &one).unwrap();
    let source = volume_path(&layout, &v).unwrap();
    let mut mounts = VolumeMounts::new();
    mounts
        .attach(&layout, "c1", &sandbox, &[v.clone(), v.clone()])
        .unwrap();
    assert_eq!(mounts.attached("c1").len(), 1);
    assert_eq!(mounts.users(&source), vec!["c1".to_string()]);
    std::fs::write(sandbox.join("data/hello"), "hi").unwrap();
    assert_eq!(std::fs::read_to_string(source.join("hello")).unwrap(), "hi");
    let e = mounts
        .check_removable(&layout, &one, &Resources::new())
        .unwrap_err();
    assert!(
        e.to_string().contains("'v1' is in use by container(s) c1"),
        "{e}"
    );
    mounts.release("c1");
    assert!(mounts.users(&source).is_empty());
    assert!(!mount::is_mount_point(&sandbox.join("data")));
    assert!(!sandbox.join("data/hello").exists());
    assert!(source.join("hello").is_file());
    mounts
        .check_removable(&layout, &one, &Resources::new())
        .unwrap();
    // Paths that leave the sandbox are refused.
    let bad = volume("r", "v1", "../x");
    assert!(mounts.attach(&layout, "c2", &sandbox, &[bad]).is_err());
    assert!(mounts.attached("c2").is_empty());
}
