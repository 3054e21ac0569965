//! A per-runtime metrics registry rendering Mesos's flat `/metrics/snapshot` JSON.
//!
//! Counters, gauges (a stored value or a callback) and timers. A timer keeps a window of its
//! most recent samples; a timer named `t_ms` renders `t_ms` (last sample), `t_ms/count`,
//! `t_ms/min`, `/max`, `/p50`, `/p90`, `/p95`, `/p99`, `/p999`, `/p9999`, in the unit its name
//! ends with (`_ms`, `_us`, `_ns` or `_secs`; milliseconds otherwise). Every value is a JSON
//! number, as in Mesos. Each runtime serves its registry at `/metrics/snapshot`.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};

/// How many samples a timer keeps for its percentiles.
pub const TIMER_WINDOW: usize = 1000;

/// A monotonically increasing count.
#[derive(Clone, Default, Debug)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    /// Adds `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The current count.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down.
#[derive(Clone, Default, Debug)]
pub struct Gauge(Arc<AtomicU64>);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

#[derive(Debug, Default)]
struct TimerState {
    window: VecDeque<f64>,
    last: Option<f64>,
    count: u64,
}

/// Durations with a window of recent samples, rendered with percentiles.
#[derive(Clone, Debug)]
pub struct Timer {
    state: Arc<Mutex<TimerState>>,
    scale: f64,
}

impl Timer {
    fn for_name(name: &str) -> Self {
        let scale = if name.ends_with("_secs") {
            1.0
        } else if name.ends_with("_us") {
            1e6
        } else if name.ends_with("_ns") {
            1e9
        } else {
            1e3
        };
        Timer {
            state: Arc::default(),
            scale,
        }
    }

    /// Records one sample.
    pub fn record(&self, d: Duration) {
        let v = d.as_secs_f64() * self.scale;
        let mut st = self.state.lock();
        if st.window.len() == TIMER_WINDOW {
            st.window.pop_front();
        }
        st.window.push_back(v);
        st.last = Some(v);
        st.count += 1;
    }

    /// How many samples were ever recorded.
    pub fn count(&self) -> u64 {
        self.state.lock().count
    }

    fn render(&self, name: &str, out: &mut Map<String, Value>) {
        let st = self.state.lock();
        let Some(last) = st.last else { return };
        let mut sorted: Vec<f64> = st.window.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        out.insert(name.to_string(), num(last));
        out.insert(format!("{name}/count"), num(st.count as f64));
        out.insert(format!("{name}/min"), num(sorted[0]));
        out.insert(format!("{name}/max"), num(sorted[sorted.len() - 1]));
        for (suffix, p) in [
            ("p50", 0.5),
            ("p90", 0.9),
            ("p95", 0.95),
            ("p99", 0.99),
            ("p999", 0.999),
            ("p9999", 0.9999),
        ] {
            out.insert(format!("{name}/{suffix}"), num(percentile(&sorted, p)));
        }
    }
}

/// The `p`-th percentile (0..=1) of sorted samples, linearly interpolated.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn num(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

type GaugeFn = Arc<dyn Fn() -> f64 + Send + Sync>;

#[derive(Clone)]
enum Metric {
    Counter(Counter),
    Gauge(Gauge),
    GaugeFn(GaugeFn),
    Timer(Timer),
}

/// A registry of named metrics. Cheap to clone; clones share the registry.
#[derive(Clone, Default)]
pub struct Metrics {
    metrics: Arc<RwLock<BTreeMap<String, Metric>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("names", &self.metrics.read().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter `name`, created at zero if absent (replacing a metric of another kind).
    pub fn counter(&self, name: &str) -> Counter {
        let mut m = self.metrics.write();
        if let Some(Metric::Counter(c)) = m.get(name) {
            return c.clone();
        }
        let c = Counter::default();
        m.insert(name.to_string(), Metric::Counter(c.clone()));
        c
    }

    /// The gauge `name`, created at zero if absent.
    pub fn gauge(&self, name: &str) -> Gauge {
        let mut m = self.metrics.write();
        if let Some(Metric::Gauge(g)) = m.get(name) {
            return g.clone();
        }
        let g = Gauge::default();
        m.insert(name.to_string(), Metric::Gauge(g.clone()));
        g
    }

    /// A gauge whose value is computed by `f` at snapshot time. `f` must not block.
    pub fn gauge_fn(&self, name: &str, f: impl Fn() -> f64 + Send + Sync + 'static) {
        self.metrics
            .write()
            .insert(name.to_string(), Metric::GaugeFn(Arc::new(f)));
    }

    /// The timer `name`, created empty if absent.
    pub fn timer(&self, name: &str) -> Timer {
        let mut m = self.metrics.write();
        if let Some(Metric::Timer(t)) = m.get(name) {
            return t.clone();
        }
        let t = Timer::for_name(name);
        m.insert(name.to_string(), Metric::Timer(t.clone()));
        t
    }

    /// Removes a metric; true if it existed.
    pub fn remove(&self, name: &str) -> bool {
        self.metrics.write().remove(name).is_some()
    }

    /// The flat `{"name": number}` object Mesos serves at `/metrics/snapshot`.
    pub fn snapshot(&self) -> Map<String, Value> {
        let metrics: Vec<(String, Metric)> = self
            .metrics
            .read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut out = Map::new();
        for (name, metric) in metrics {
            match metric {
                Metric::Counter(c) => {
                    out.insert(name, num(c.get() as f64));
                }
                Metric::Gauge(g) => {
                    out.insert(name, num(g.get()));
                }
                Metric::GaugeFn(f) => {
                    out.insert(name, num(f()));
                }
                Metric::Timer(t) => t.render(&name, &mut out),
            }
        }
        out
    }
}
