//! The Clock: virtual time, timers that fire only after `advance`, and `settle`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bincode::{Decode, Encode};
use libprocess::{bincode_message, block_on, Clock, Context, Handlers, Process, Runtime, Upid};

#[derive(Debug, Clone, PartialEq, Encode, Decode)]
struct Hop(u64);
bincode_message!(Hop, "test.Hop");

/// Arms a 10-minute timer on start; counts how often it fired.
struct Alarm(Arc<AtomicU64>);

impl Process for Alarm {
    fn handlers(_: &mut Handlers<Self>) {}
    fn initialize(&mut self, ctx: &mut Context<Self>) {
        ctx.delay(Duration::from_secs(600), |a, _| {
            a.0.fetch_add(1, Ordering::SeqCst);
        });
    }
}

#[test]
fn a_ten_minute_timer_fires_only_after_advance() {
    let clock = Clock::new();
    clock.pause();
    let start = clock.now();
    let rt = Runtime::builder().clock(clock.clone()).start().unwrap();
    let fired = Arc::new(AtomicU64::new(0));
    rt.spawn("alarm", Alarm(fired.clone())).unwrap();
    clock.settle_blocking();
    assert_eq!(fired.load(Ordering::SeqCst), 0);

    clock.advance(Duration::from_secs(599));
    clock.settle_blocking();
    assert_eq!(fired.load(Ordering::SeqCst), 0, "not yet due after 9:59");
    assert_eq!(clock.now() - start, Duration::from_secs(599));

    clock.advance(Duration::from_secs(1));
    clock.settle_blocking();
    assert_eq!(
        fired.load(Ordering::SeqCst),
        1,
        "fires once 10 minutes have passed"
    );
    clock.advance(Duration::from_secs(3600));
    clock.settle_blocking();
    assert_eq!(fired.load(Ordering::SeqCst), 1, "a delay fires once");
    block_on(rt.shutdown());
}

/// Passes a hop on to the next process until the count runs out; records the last one.
struct Relay {
    next: Option<Upid>,
    last: Arc<AtomicU64>,
}

impl Process for Relay {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Hop>(|r, ctx, _, Hop(n)| {
            r.last.store(n, Ordering::SeqCst);
            if n > 0 {
                if let Some(next) = &r.next {
                    ctx.send(next, Hop(n - 1));
                }
            }
        });
    }
}

#[test]
fn settle_waits_for_a_chain_of_messages_across_runtimes() {
    // Two runtimes sharing one paused clock; the chain ping-pongs over HTTP between them.
    let clock = Clock::new();
    clock.pause();
    let a = Runtime::builder().clock(clock.clone()).start().unwrap();
    let b = Runtime::builder().clock(clock.clone()).start().unwrap();
    let last_a = Arc::new(AtomicU64::new(u64::MAX));
    let last_b = Arc::new(AtomicU64::new(u64::MAX));
    let ra = a.upid("relay");
    let rb = b.upid("relay");
    a.spawn(
        "relay",
        Relay {
            next: Some(rb.clone()),
            last: last_a.clone(),
        },
    )
    .unwrap();
    b.spawn(
        "relay",
        Relay {
            next: Some(ra.clone()),
            last: last_b.clone(),
        },
    )
    .unwrap();
    a.send(&ra, Hop(201));
    clock.settle_blocking();
    // 201 hops: a sees odd numbers down to 1, b sees even numbers down to 0.
    assert_eq!(last_b.load(Ordering::SeqCst), 0);
    assert_eq!(last_a.load(Ordering::SeqCst), 1);
    block_on(a.shutdown());
    block_on(b.shutdown());
}

#[test]
fn settle_waits_for_a_delayed_chain() {
    struct Ticker(Arc<AtomicU64>);
    impl Process for Ticker {
        fn handlers(_: &mut Handlers<Self>) {}
        fn initialize(&mut self, ctx: &mut Context<Self>) {
            fn tick(t: &mut Ticker, ctx: &mut Context<Ticker>) {
                if t.0.fetch_add(1, Ordering::SeqCst) < 4 {
                    ctx.delay(Duration::ZERO, tick);
                }
            }
            ctx.delay(Duration::from_secs(1), tick);
        }
    }
    let rt = Runtime::start().unwrap();
    rt.clock().pause();
    let n = Arc::new(AtomicU64::new(0));
    rt.spawn("ticker", Ticker(n.clone())).unwrap();
    rt.clock().settle_blocking();
    assert_eq!(n.load(Ordering::SeqCst), 0);
    rt.clock().advance(Duration::from_secs(1));
    rt.clock().settle_blocking();
    // Zero-length delays scheduled by the handlers are due at once: settle runs them all.
    assert_eq!(n.load(Ordering::SeqCst), 5);
    block_on(rt.shutdown());
}

#[test]
fn sleep_timeout_and_cancel_follow_virtual_time() {
    let clock = Clock::new();
    clock.pause();
    let t0 = clock.now();
    let sleep = clock.sleep(Duration::from_secs(30));
    let timeout = clock.timeout(Duration::from_secs(10), futures::future::pending::<()>());
    let done = clock.timeout(Duration::from_secs(10), async { 5 });
    assert_eq!(block_on(done), Ok(5));
    let fired = Arc::new(AtomicU64::new(0));
    let f = fired.clone();
    let id = clock.schedule(Duration::from_secs(20), move || {
        f.fetch_add(1, Ordering::SeqCst);
    });
    assert!(clock.cancel(id));
    assert!(!clock.cancel(id));
    let pending_timeout = std::thread::spawn(move || block_on(timeout));
    clock.advance(Duration::from_secs(10));
    assert_eq!(pending_timeout.join().unwrap(), Err(libprocess::Elapsed));
    clock.advance(Duration::from_secs(20));
    block_on(sleep);
    assert_eq!(clock.now() - t0, Duration::from_secs(30));
    assert_eq!(
        fired.load(Ordering::SeqCst),
        0,
        "a cancelled timer never fires"
    );
    assert!((clock.now().as_secs_f64() - t0.as_secs_f64() - 30.0).abs() < 1e-6);
}

#[test]
fn resume_continues_from_virtual_time() {
    let clock = Clock::new();
    clock.pause();
    let t0 = clock.now();
    clock.advance(Duration::from_secs(3600));
    clock.resume();
    assert!(!clock.is_paused());
    assert!(
        clock.now() >= t0 + Duration::from_secs(3600),
        "time never goes backwards"
    );
}
