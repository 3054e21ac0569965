use super::*;

#[test]
fn defaults_match_mesos() {
    let f = MasterFlags::default();
    assert_eq!(f.port, 5050);
    assert_eq!(f.agent_ping_timeout, Duration::from_secs(15));
    assert_eq!(f.max_agent_ping_timeouts, 5);
    assert_eq!(f.total_ping_timeout(), Duration::from_secs(75));
    assert_eq!(f.agent_reregister_timeout, Duration::from_secs(600));
    assert_eq!(f.allocation_interval, Duration::from_secs(1));
    assert_eq!(f.offer_timeout, None);
    assert_eq!(f.max_completed_frameworks, 50);
    assert_eq!(f.max_completed_tasks_per_framework, 1000);
    assert_eq!(f.max_unreachable_tasks_per_framework, 1000);
    assert_eq!(f.registry, "replicated_log");
    assert_eq!(f.registry_max_agent_age, Duration::from_secs(14 * 86_400));
    assert_eq!(f.registry_max_agent_count, 102_400);
    assert_eq!(f.registry_store_timeout, Duration::from_secs(20));
    assert_eq!(f.recovery_agent_removal_limit, "100%");
    assert_eq!(f.min_allocatable_resources.len(), 2);
    assert!(!f.authenticate_frameworks);
    assert!(f.publish_per_framework_metrics);
    assert_eq!(f.roles, None);
    assert!(f.weights.is_empty());
}

#[test]
fn command_line_and_environment_set_flags() {
    let f = MasterFlags::load(
        [
            "--port=0",
            "--work_dir=/tmp/x",
            "--offer_timeout=30secs",
            "--weights=a=2,b=0.5",
            "--roles=a,b,a",
        ],
        [
            ("MESOS_MAX_SLAVE_PING_TIMEOUTS", "3"),
            ("MESOS_CLUSTER", "prod"),
        ],
    )
    .unwrap();
    assert_eq!(f.port, 0);
    assert_eq!(f.work_dir, "/tmp/x");
    assert_eq!(f.offer_timeout, Some(Duration::from_secs(30)));
    assert_eq!(f.weights, vec![("a".into(), 2.0), ("b".into(), 0.5)]);
    assert_eq!(f.roles, Some(vec!["a".into(), "b".into()]));
    assert_eq!(f.max_agent_ping_timeouts, 3);
    assert_eq!(f.cluster.as_deref(), Some("prod"));
    let pairs: Vec<_> = f.display_pairs().collect();
    assert!(pairs.contains(&("cluster", "prod")));
    assert!(pairs.contains(&("max_agent_ping_timeouts", "3")));
    assert!(pairs.contains(&("agent_ping_timeout", "15secs")));
    assert!(!pairs.iter().any(|(k, _)| *k == "zk"));
}

#[test]
fn invalid_values_name_the_flag() {
    let cases: &[(&str, &str)] = &[
        (
            "--agent_reregister_timeout=5mins",
            "agent_reregister_timeout",
        ),
        ("--max_agent_ping_timeouts=0", "max_agent_ping_timeouts"),
        ("--registry=etcd", "registry"),
        ("--weights=a=-1", "weights"),
        ("--weights=a", "weights"),
        ("--roles=a/../b", "roles"),
        (
            "--min_allocatable_resources=cpus:x",
            "min_allocatable_resources",
        ),
        ("--user_sorter=fair", "user_sorter"),
        ("--allocation_interval=0secs", "allocation_interval"),
        ("--port=99999", "port"),
    ];
    for (arg, flag) in cases {
        let e = MasterFlags::load([*arg], []).unwrap_err();
        assert!(
            e.to_string().contains(flag),
            "{arg}: error {e} does not name {flag}"
        );
    }
}

#[test]
fn every_spec_default_is_valid_and_names_are_unique() {
    let mut names = std::collections::BTreeSet::new();
    for s in MASTER_FLAGS {
        assert!(names.insert(s.name), "duplicate flag {}", s.name);
        for a in s.aliases {
            assert!(names.insert(a), "duplicate alias {a}");
        }
    }
    // Default construction checks every default against its kind.
    let _ = MasterFlags::default();
}
