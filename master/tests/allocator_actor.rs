//! The allocator actor on a paused Clock: cycles at each interval, bursts of events
//! batched into one cycle, Mesos's `allocator/mesos/...` metrics, the owner link.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::{block_on, Clock, Handlers, Process, Runtime};
use mesos_master::allocator::actor::{ActorConfig, AllocatorHandle, CycleReport};
use mesos_master::allocator::{
    AgentConfig, AllocatorOptions, FrameworkConfig, HierarchicalAllocator, NoOfferReason,
};
use mesos_protos::resources::{ResourceLimits, ResourceQuantities, Resources};

fn res(text: &str) -> Resources {
    Resources::parse(text, "*").expect("resources")
}

fn agent(total: &str) -> AgentConfig {
    AgentConfig {
        total: res(total),
        region: None,
    }
}

struct World {
    clock: Clock,
    runtime: Runtime,
    reports: Arc<Mutex<Vec<CycleReport>>>,
}

impl World {
    fn new() -> World {
        let clock = Clock::new();
        clock.pause();
        let runtime = Runtime::builder()
            .clock(clock.clone())
            .start()
            .expect("runtime");
        World {
            clock,
            runtime,
            reports: Arc::default(),
        }
    }

    fn start(&self, handle: &mut AllocatorHandle, interval: Duration) {
        let reports = self.reports.clone();
        let config = ActorConfig {
            interval,
            sink: Arc::new(move |r| reports.lock().unwrap().push(r)),
            owner: None,
        };
        let pid = handle.start(&self.runtime, config).expect("start");
        assert!(
            pid.id().starts_with("hierarchical-allocator("),
            "{}",
            pid.id()
        );
        self.clock.settle_blocking();
    }

    fn metric(&self, name: &str) -> Option<f64> {
        self.runtime
            .metrics()
            .snapshot()
            .get(name)
            .and_then(|v| v.as_f64())
    }

    fn runs(&self) -> usize {
        self.reports.lock().unwrap().len()
    }

    fn stop(self) {
        block_on(self.runtime.shutdown());
    }
}

fn allocator() -> HierarchicalAllocator {
    HierarchicalAllocator::new(AllocatorOptions::default()).expect("allocator")
}

#[test]
fn a_cycle_runs_exactly_at_each_interval() {
    let w = World::new();
    let mut a = allocator();
    a.add_agent("a1", &agent("cpus:4;mem:1024"), &[]).unwrap();
    a.add_framework("f1", &FrameworkConfig::with_roles(&["r"]), &[], true)
        .unwrap();
    let mut h = AllocatorHandle::new(a);
    w.start(&mut h, Duration::from_secs(1));
    assert_eq!(
        w.runs(),
        0,
        "no event since start: nothing runs before the interval"
    );

    for n in 1..=5 {
        w.clock.advance(Duration::from_millis(999));
        w.clock.settle_blocking();
        assert_eq!(w.runs(), n - 1, "early at interval {n}");
        w.clock.advance(Duration::from_millis(1));
        w.clock.settle_blocking();
        assert_eq!(w.runs(), n, "exactly at interval {n}");
    }
    let reports = w.reports.lock().unwrap().clone();
    // The first cycle offers the agent; later ones find it all offered.
    assert_eq!(reports[0].allocations.len(), 1);
    assert_eq!(reports[0].allocations[0].framework_id, "f1");
    assert_eq!(reports[0].allocations[0].role, "r");
    assert!(reports[1..].iter().all(|r| r.allocations.is_empty()));
    assert_eq!(reports[4].snapshot.runs, 5);
    assert_eq!(w.metric("allocator/mesos/allocation_runs"), Some(5.0));
    assert_eq!(
        w.metric("allocator/mesos/allocation_run_ms/count"),
        Some(5.0)
    );
    assert_eq!(
        w.metric("allocator/mesos/allocation_run_latency_ms/count"),
        Some(5.0)
    );
    assert!(w.metric("allocator/mesos/allocation_run_ms/p99").is_some());
    w.stop();
}

#[test]
fn a_burst_of_100_events_triggers_one_cycle() {
    let w = World::new();
    let mut a = allocator();
    a.add_framework("f1", &FrameworkConfig::with_roles(&["*"]), &[], true)
        .unwrap();
    let mut h = AllocatorHandle::new(a);
    // An interval far away: only events can cause a cycle here.
    w.start(&mut h, Duration::from_secs(3600));
    assert_eq!(w.runs(), 0);

    // Hold the actor busy so the burst queues up behind it, as events pile up behind a
    // running cycle in a loaded master.
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let busy = h.query(move |_| blocked.recv().is_ok());
    for i in 0..100 {
        h.add_agent(&format!("a{i}"), &agent("cpus:1;mem:256"), &[])
            .unwrap();
    }
    assert_eq!(h.queued_dispatches(), 100);
    assert_eq!(
        w.metric("allocator/mesos/event_queue_dispatches"),
        Some(100.0)
    );
    release.send(()).unwrap();
    assert!(block_on(busy).unwrap());
    w.clock.settle_blocking();

    assert_eq!(w.runs(), 1, "one cycle for the whole burst");
    let report = w.reports.lock().unwrap()[0].clone();
    assert_eq!(report.allocations.len(), 100, "every new agent offered");
    assert_eq!(h.queued_dispatches(), 0);
    assert_eq!(
        w.metric("allocator/mesos/event_queue_dispatches"),
        Some(0.0)
    );
    assert_eq!(w.metric("allocator/mesos/allocation_runs"), Some(1.0));

    // A later single event makes a cycle of its own.
    h.add_agent("late", &agent("cpus:1;mem:256"), &[]).unwrap();
    w.clock.settle_blocking();
    assert_eq!(w.runs(), 2);
    assert_eq!(w.reports.lock().unwrap()[1].allocations.len(), 1);
    w.stop();
}

#[test]
fn events_that_cannot_make_offers_do_not_run_a_cycle() {
    let w = World::new();
    let mut a = allocator();
    a.add_agent("a1", &agent("cpus:4;mem:1024"), &[]).unwrap();
    a.add_framework("f1", &FrameworkConfig::with_roles(&["r"]), &[], true)
        .unwrap();
    let mut h = AllocatorHandle::new(a);
    w.start(&mut h, Duration::from_secs(3600));
    h.suppress_offers("f1", &[]).unwrap();
    h.update_weights(&[("r".into(), 2.0)]).unwrap();
    h.deactivate_agent("a1").unwrap();
    w.clock.settle_blocking();
    assert_eq!(w.runs(), 0);
    // Revive is an event that can: one cycle, and the agent is inactive, so the reason
    // for f1 is recorded in the snapshot.
    h.revive_offers("f1", &[]).unwrap();
    w.clock.settle_blocking();
    assert_eq!(w.runs(), 1);
    let snap = w.reports.lock().unwrap()[0].snapshot.clone();
    assert_eq!(snap.reason("f1", "r"), Some(NoOfferReason::NoCapacity));
    w.stop();
}

#[test]
fn metrics_follow_resources_shares_quota_and_filters() {
    let w = World::new();
    let mut a = allocator();
    a.add_agent("a1", &agent("cpus:4;mem:1024"), &[]).unwrap();
    a.add_agent("a2", &agent("cpus:4;mem:1024"), &[]).unwrap();
    let mut h = AllocatorHandle::new(a);
    w.start(&mut h, Duration::from_secs(1));
    h.update_quota(
        "q",
        &ResourceQuantities::parse("cpus:2").unwrap(),
        &ResourceLimits::parse("cpus:4;mem:1024").unwrap(),
    )
    .unwrap();
    h.add_framework("fq", &FrameworkConfig::with_roles(&["q"]), &[], true)
        .unwrap();
    w.clock.settle_blocking();
    // Event-driven passes do not refresh the (costly) gauges; the interval does.
    w.clock.advance(Duration::from_secs(1));
    w.clock.settle_blocking();
    let m = |n: &str| w.metric(n).unwrap_or_else(|| panic!("missing metric {n}"));
    assert_eq!(m("allocator/mesos/resources/cpus/total"), 8.0);
    assert_eq!(m("allocator/mesos/resources/mem/total"), 2048.0);
    // The limit keeps the role at 4 cpus: one agent's worth.
    assert_eq!(
        m("allocator/mesos/resources/cpus/offered_or_allocated"),
        4.0
    );
    assert_eq!(
        m("allocator/mesos/quota/roles/q/resources/cpus/guarantee"),
        2.0
    );
    assert_eq!(m("allocator/mesos/quota/roles/q/resources/cpus/limit"), 4.0);
    assert_eq!(
        m("allocator/mesos/quota/roles/q/resources/cpus/offered_or_allocated"),
        4.0
    );
    assert_eq!(m("allocator/mesos/roles/q/shares/dominant"), 0.5);
    assert_eq!(m("allocator/mesos/offer_filters/roles/q/active"), 0.0);

    // Give one agent back with a long filter: the filter gauge counts it.
    let held: Vec<_> = w
        .reports
        .lock()
        .unwrap()
        .iter()
        .flat_map(|r| r.allocations.clone())
        .collect();
    assert_eq!(held.len(), 1);
    let now = Duration::from_nanos(w.clock.now().as_nanos());
    h.recover_resources(
        "fq",
        &held[0].agent_id,
        &held[0].resources,
        Some(3600.0),
        now,
    )
    .unwrap();
    w.clock.advance(Duration::from_secs(1));
    w.clock.settle_blocking();
    assert_eq!(m("allocator/mesos/offer_filters/roles/q/active"), 1.0);
    // The other agent is offered instead.
    let last = w.reports.lock().unwrap().last().unwrap().clone();
    assert_eq!(last.allocations.len(), 1);
    assert_ne!(last.allocations[0].agent_id, held[0].agent_id);

    // Removing the quota removes its gauges.
    h.remove_quota("q").unwrap();
    w.clock.advance(Duration::from_secs(1));
    w.clock.settle_blocking();
    assert_eq!(
        w.metric("allocator/mesos/quota/roles/q/resources/cpus/guarantee"),
        None
    );
    w.stop();
}

#[test]
fn update_available_answers_through_a_future() {
    let w = World::new();
    let mut a = allocator();
    a.add_agent("a1", &agent("cpus:4;mem:1024"), &[]).unwrap();
    let mut h = AllocatorHandle::new(a);
    w.start(&mut h, Duration::from_secs(3600));
    let reserved = res("cpus(r):1");
    let unreserved_op = mesos_master::allocator::Operation::Reserve(reserved.clone());
    assert_eq!(block_on(h.update_available("a1", &[unreserved_op])), Ok(()));
    let free = block_on(h.query(|a| a.available_of("a1")))
        .unwrap()
        .unwrap();
    assert!(free.contains(&reserved), "{free}");
    // Too much: refused, nothing changes.
    let too_much = mesos_master::allocator::Operation::Reserve(res("cpus(r):10"));
    assert!(block_on(h.update_available("a1", &[too_much])).is_err());
    assert!(block_on(h.update_available("nope", &[])).is_err());
    w.stop();
}

struct Owner;
impl Process for Owner {
    fn handlers(_h: &mut Handlers<Self>) {}
}

/// Reports when a watched process terminates (through a link, as the master would).
struct Watcher {
    watched: libprocess::Upid,
    gone: Option<futures::channel::oneshot::Sender<()>>,
}
impl Process for Watcher {
    fn handlers(_h: &mut Handlers<Self>) {}
    fn initialize(&mut self, ctx: &mut libprocess::Context<Self>) {
        ctx.link(&self.watched);
    }
    fn exited(&mut self, _ctx: &mut libprocess::Context<Self>, pid: &libprocess::Upid) {
        if *pid == self.watched {
            if let Some(tx) = self.gone.take() {
                let _ = tx.send(());
            }
        }
    }
}

#[test]
fn the_allocator_stops_with_its_owner_and_calls_before_start_apply_at_once() {
    let w = World::new();
    let mut a = allocator();
    a.add_agent("a1", &agent("cpus:1;mem:128"), &[]).unwrap();
    let mut h = AllocatorHandle::new(a);
    // Before start, calls are synchronous: refusals come back at once.
    assert!(h.add_agent("a1", &agent("cpus:1;mem:128"), &[]).is_err());
    assert!(h.remove_agent("nope").is_err());

    let owner = w.runtime.spawn("owner", Owner).unwrap();
    let reports = w.reports.clone();
    let pid = h
        .start(
            &w.runtime,
            ActorConfig {
                interval: Duration::from_secs(1),
                sink: Arc::new(move |r| reports.lock().unwrap().push(r)),
                owner: Some(owner.upid().clone()),
            },
        )
        .unwrap();
    w.clock.settle_blocking();
    assert!(w.runtime.is_alive(&pid));
    // Once running, a call only reports whether it was dispatched.
    assert!(h.remove_agent("nope").is_ok());
    let (tx, gone) = futures::channel::oneshot::channel();
    w.runtime
        .spawn(
            "watcher",
            Watcher {
                watched: pid.clone(),
                gone: Some(tx),
            },
        )
        .unwrap();
    w.clock.settle_blocking();
    owner.terminate();
    // The allocator's own link to its owner ends it; the watcher sees it go.
    assert!(
        block_on(gone).is_ok(),
        "the allocator terminated with its owner"
    );
    assert!(block_on(h.query(|_| ())).is_err());
    assert!(h.add_agent("a2", &agent("cpus:1;mem:128"), &[]).is_err());
    w.stop();
}

#[test]
fn after_a_failover_with_quota_offers_wait_for_most_agents() {
    let w = World::new();
    let mut a = allocator();
    a.update_quota(
        "q",
        &ResourceQuantities::parse("cpus:1").unwrap(),
        &ResourceLimits::default(),
    )
    .unwrap();
    a.add_framework("f", &FrameworkConfig::with_roles(&["q"]), &[], true)
        .unwrap();
    let mut h = AllocatorHandle::new(a);
    h.recover(10, true);
    w.start(&mut h, Duration::from_secs(1));
    for i in 0..7 {
        h.add_agent(&format!("a{i}"), &agent("cpus:1;mem:128"), &[])
            .unwrap();
    }
    w.clock.advance(Duration::from_secs(5));
    w.clock.settle_blocking();
    assert_eq!(w.runs(), 0, "7 of 10 agents: still holding off");
    h.add_agent("a7", &agent("cpus:1;mem:128"), &[]).unwrap();
    w.clock.settle_blocking();
    assert_eq!(w.runs(), 1, "8 of 10 (80 %): offers resume at once");
    assert_eq!(w.reports.lock().unwrap()[0].allocations.len(), 8);
    w.stop();

    // Without enough agents, the hold-off ends after ten minutes.
    let w = World::new();
    let mut a = allocator();
    a.update_quota(
        "q",
        &ResourceQuantities::parse("cpus:1").unwrap(),
        &ResourceLimits::default(),
    )
    .unwrap();
    a.add_framework("f", &FrameworkConfig::with_roles(&["q"]), &[], true)
        .unwrap();
    let mut h = AllocatorHandle::new(a);
    h.recover(10, true);
    w.start(&mut h, Duration::from_secs(60));
    h.add_agent("a0", &agent("cpus:1;mem:128"), &[]).unwrap();
    for _ in 0..9 {
        w.clock.advance(Duration::from_secs(60));
        w.clock.settle_blocking();
    }
    assert_eq!(w.runs(), 0);
    w.clock.advance(Duration::from_secs(60));
    w.clock.settle_blocking();
    assert!(w.runs() >= 1);
    assert_eq!(w.reports.lock().unwrap()[0].allocations.len(), 1);
    w.stop();

    // Without quota there is no hold-off.
    let w = World::new();
    let mut a = allocator();
    a.add_framework("f", &FrameworkConfig::with_roles(&["r"]), &[], true)
        .unwrap();
    let mut h = AllocatorHandle::new(a);
    h.recover(10, false);
    w.start(&mut h, Duration::from_secs(1));
    h.add_agent("a0", &agent("cpus:1;mem:128"), &[]).unwrap();
    w.clock.settle_blocking();
    assert_eq!(w.runs(), 1);
    w.stop();
}

#[test]
fn the_filter_gauge_follows_filters_as_they_come_and_go() {
    let mut a = allocator();
    for i in 0..3 {
        a.add_agent(&format!("a{i}"), &agent("cpus:1;mem:128"), &[])
            .unwrap();
    }
    a.add_framework("f1", &FrameworkConfig::with_roles(&["x"]), &[], true)
        .unwrap();
    a.add_framework("f2", &FrameworkConfig::with_roles(&["x", "y"]), &[], true)
        .unwrap();
    let active = |a: &HierarchicalAllocator, role: &str| {
        a.metrics(Duration::ZERO)
            .offer_filters_active
            .get(role)
            .copied()
            .unwrap_or(0)
    };
    // Every offer declined with a long filter, over a few cycles.
    let mut now = Duration::ZERO;
    for _ in 0..4 {
        now += Duration::from_secs(1);
        for x in a.allocate(now) {
            a.recover_resources(&x.framework_id, &x.agent_id, &x.resources, Some(100.0), now)
                .unwrap();
        }
    }
    let total = |a: &HierarchicalAllocator| active(a, "x") + active(a, "y");
    assert!(total(&a) >= 3, "filters installed: {}", total(&a));
    let before = total(&a);
    a.remove_agent("a0").unwrap();
    assert!(total(&a) < before, "the agent's filters went with it");
    a.revive_offers("f2", &["y".to_string()]).unwrap();
    assert_eq!(active(&a, "y"), 0, "revive clears the role's filters");
    a.remove_framework("f1").unwrap();
    a.remove_framework("f2").unwrap();
    assert_eq!(total(&a), 0);
    // Expiry: a short filter disappears at the next cycle after it ran out.
    a.add_framework("f3", &FrameworkConfig::with_roles(&["z"]), &[], true)
        .unwrap();
    now += Duration::from_secs(1);
    for x in a.allocate(now) {
        a.recover_resources(&x.framework_id, &x.agent_id, &x.resources, Some(2.0), now)
            .unwrap();
    }
    assert_eq!(active(&a, "z"), 2);
    now += Duration::from_secs(3);
    a.allocate(now);
    assert_eq!(active(&a, "z"), 0);
}
