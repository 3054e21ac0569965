//! Local message throughput: messages into one process's mailbox, from outside the runtime
//! and from another process.
//!
//! Run: `cargo bench -p libprocess --bench local`
#![allow(clippy::disallowed_methods)] // criterion reads real time; this is a benchmark

use std::sync::mpsc;
use std::time::Duration;

use bincode::{Decode, Encode};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use libprocess::{bincode_message, Handlers, Pid, Process, Runtime, Upid};

#[derive(Encode, Decode)]
struct Tick(u64);
bincode_message!(Tick, "bench.Tick");

const BATCH: u64 = 200_000;

/// Counts ticks; reports every `BATCH`.
struct Counter {
    n: u64,
    done: mpsc::Sender<()>,
}

impl Process for Counter {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Tick>(|c, _, _, _| {
            c.n += 1;
            if c.n % BATCH == 0 {
                let _ = c.done.send(());
            }
        });
    }
}

/// Sends `BATCH` ticks to a target when asked (process-to-process sends).
struct Blaster;

impl Process for Blaster {
    fn handlers(_: &mut Handlers<Self>) {}
}

fn blast(blaster: &Pid<Blaster>, to: &Upid) {
    let to = to.clone();
    blaster.dispatch_and_forget(move |_, ctx| {
        for i in 0..BATCH {
            ctx.send(&to, Tick(i));
        }
    });
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::start().expect("runtime");
    let (done, wait) = mpsc::channel();
    let counter = rt.spawn("counter", Counter { n: 0, done }).expect("spawn");
    let blaster = rt.spawn("blaster", Blaster).expect("spawn");
    let mut group = c.benchmark_group("local");
    group.throughput(Throughput::Elements(BATCH));
    group.measurement_time(Duration::from_secs(5));
    group.sample_size(20);
    group.bench_function("send_from_outside", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                rt.send(counter.upid(), Tick(i));
            }
            wait.recv().expect("counter alive");
        })
    });
    group.bench_function("process_to_process", |b| {
        b.iter(|| {
            blast(&blaster, counter.upid());
            wait.recv().expect("counter alive");
        })
    });
    group.finish();

    // The machine is shared, so also report messages per second of CPU time used.
    for (label, outside) in [("send_from_outside", true), ("process_to_process", false)] {
        let rounds = 10;
        let (wall0, cpu0) = (std::time::Instant::now(), cpu_seconds());
        for _ in 0..rounds {
            if outside {
                for i in 0..BATCH {
                    rt.send(counter.upid(), Tick(i));
                }
            } else {
                blast(&blaster, counter.upid());
            }
            wait.recv().expect("counter alive");
        }
        let n = (rounds * BATCH) as f64;
        let (wall, cpu) = (wall0.elapsed().as_secs_f64(), cpu_seconds() - cpu0);
        println!(
            "local/{label}: {:.2} M msg/s wall, {:.2} M msg per CPU-second ({:.2} CPUs busy)",
            n / wall / 1e6,
            n / cpu / 1e6,
            cpu / wall
        );
    }
    libprocess::block_on(rt.shutdown());
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
