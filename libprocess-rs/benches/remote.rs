//! Remote throughput and latency between two runtimes on loopback.
//!
//! - `remote/one_way_100B`: one-way messages with a 100-byte payload, sender outside the
//!   runtime, counted by a process on the other runtime.
//! - `remote/rtt`: request/response round trips (a process on A pings a process on B and the
//!   pong wakes the bench thread); after criterion, 20,000 timed round trips print p50/p99.
//! - `remote/ask`: the same through `Runtime::ask` (spawns a temporary process per request).
//!
//! Run: `cargo bench -p libprocess --bench remote`
#![allow(clippy::disallowed_methods)] // benchmarks read real time (Instant) to measure latency

use std::sync::mpsc;
use std::time::{Duration, Instant};

use bincode::{Decode, Encode};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use libprocess::{bincode_message, Handlers, Process, Runtime};

#[derive(Encode, Decode)]
struct Payload(Vec<u8>);
bincode_message!(Payload, "bench.Payload");

#[derive(Encode, Decode)]
struct Ping(u64);
bincode_message!(Ping, "bench.Ping");

#[derive(Encode, Decode)]
struct Pong(u64);
bincode_message!(Pong, "bench.Pong");

const BATCH: u64 = 50_000;

struct Counter {
    n: u64,
    done: mpsc::Sender<()>,
}

impl Process for Counter {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Payload>(|c, _, _, _| {
            c.n += 1;
            if c.n % BATCH == 0 {
                let _ = c.done.send(());
            }
        });
    }
}

struct Ponger;

impl Process for Ponger {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ping>(|_, ctx, from, Ping(n)| ctx.send(from, Pong(n)));
    }
}

struct Client {
    done: mpsc::Sender<u64>,
}

impl Process for Client {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Pong>(|c, _, _, Pong(n)| {
            let _ = c.done.send(n);
        });
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn bench(c: &mut Criterion) {
    let a = Runtime::start().expect("runtime a");
    let b = Runtime::start().expect("runtime b");
    // The payload is 100 bytes; bincode adds a one-byte length prefix.
    let payload = vec![7u8; 100];
    let (done, wait) = mpsc::channel();
    let counter = b.spawn("counter", Counter { n: 0, done }).expect("spawn");
    let ponger = b.spawn("ponger", Ponger).expect("spawn");
    let (pong_tx, pong_rx) = mpsc::channel();
    let client = a.spawn("client", Client { done: pong_tx }).expect("spawn");
    let from = a.anonymous();

    let mut group = c.benchmark_group("remote");
    group.measurement_time(Duration::from_secs(8));
    group.sample_size(20);
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("one_way_100B", |bch| {
        bch.iter(|| {
            for _ in 0..BATCH {
                a.send_from(&from, counter.upid(), Payload(payload.clone()));
            }
            wait.recv().expect("counter alive");
        })
    });
    group.throughput(Throughput::Elements(1));
    group.sample_size(50);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("rtt", |bch| {
        bch.iter(|| {
            a.send_from(client.upid(), ponger.upid(), Ping(1));
            pong_rx.recv().expect("client alive")
        })
    });
    group.bench_function("ask", |bch| {
        bch.iter(|| {
            libprocess::block_on(a.ask::<Ping, Pong>(
                ponger.upid(),
                Ping(1),
                Duration::from_secs(10),
            ))
            .expect("pong")
        })
    });
    group.finish();

    // The machine is shared, so also report messages per second of CPU time used (both
    // runtimes and the sending thread together).
    let rounds = 6;
    let (wall0, cpu0) = (Instant::now(), cpu_seconds());
    for _ in 0..rounds {
        for _ in 0..BATCH {
            a.send_from(&from, counter.upid(), Payload(payload.clone()));
        }
        wait.recv().expect("counter alive");
    }
    let n = (rounds * BATCH) as f64;
    let (wall, cpu) = (wall0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
    println!(
        "remote/one_way_100B: {:.0} k msg/s wall, {:.0} k msg per CPU-second ({:.2} CPUs busy)",
        n / wall / 1e3,
        n / cpu / 1e3,
        cpu / wall
    );

    let mut samples = Vec::with_capacity(20_000);
    for i in 0..20_000 {
        let t0 = Instant::now();
        a.send_from(client.upid(), ponger.upid(), Ping(i));
        pong_rx.recv().expect("client alive");
        samples.push(t0.elapsed());
    }
    samples.sort();
    println!(
        "remote/rtt over 20000 round trips: p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );
    libprocess::block_on(a.shutdown());
    libprocess::block_on(b.shutdown());
}

/// User + system CPU time of this whole process, from `/proc/self/stat` (100 ticks/s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0
}

criterion_group!(benches, bench);
criterion_main!(benches);
