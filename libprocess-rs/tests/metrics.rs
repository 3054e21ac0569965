//! The metrics registry and its Mesos-shaped snapshot.

use std::time::Duration;

use libprocess::metrics::percentile;
use libprocess::Metrics;

#[test]
fn snapshot_is_a_flat_object_of_numbers() {
    let m = Metrics::new();
    let c = m.counter("master/messages_received");
    c.inc();
    c.add(4);
    assert_eq!(
        m.counter("master/messages_received").get(),
        5,
        "same name, same counter"
    );
    m.gauge("master/elected").set(1.0);
    m.gauge_fn("master/uptime_secs", || 12.5);
    let t = m.timer("registrar/state_store_ms");
    for ms in 1..=100 {
        t.record(Duration::from_millis(ms));
    }
    let snap = m.snapshot();
    assert_eq!(snap["master/messages_received"], 5.0);
    assert_eq!(snap["master/elected"], 1.0);
    assert_eq!(snap["master/uptime_secs"], 12.5);
    assert_eq!(
        snap["registrar/state_store_ms"], 100.0,
        "a timer's own key is its last sample"
    );
    assert_eq!(snap["registrar/state_store_ms/count"], 100.0);
    assert_eq!(snap["registrar/state_store_ms/min"], 1.0);
    assert_eq!(snap["registrar/state_store_ms/max"], 100.0);
    assert_eq!(snap["registrar/state_store_ms/p50"], 50.5);
    assert!((snap["registrar/state_store_ms/p99"].as_f64().unwrap() - 99.01).abs() < 1e-9);
    for suffix in ["p90", "p95", "p999", "p9999"] {
        assert!(snap[&format!("registrar/state_store_ms/{suffix}")].is_number());
    }
    assert!(snap.values().all(|v| v.is_number()));
    assert!(m.remove("master/elected"));
    assert!(!m.snapshot().contains_key("master/elected"));
}

#[test]
fn timers_render_in_the_unit_their_name_says_and_skip_when_empty() {
    let m = Metrics::new();
    m.timer("a_secs").record(Duration::from_millis(1500));
    m.timer("b_us").record(Duration::from_millis(2));
    m.timer("never_ms");
    let snap = m.snapshot();
    assert_eq!(snap["a_secs"], 1.5);
    assert_eq!(snap["b_us"], 2000.0);
    assert!(
        !snap.contains_key("never_ms"),
        "an empty timer renders nothing, as in Mesos"
    );
}

#[test]
fn percentiles_interpolate() {
    assert_eq!(percentile(&[], 0.5), 0.0);
    assert_eq!(percentile(&[3.0], 0.99), 3.0);
    assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
    assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 1.0), 4.0);
    assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.0), 1.0);
}
