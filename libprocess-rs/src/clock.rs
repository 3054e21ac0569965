//! The Clock: the one source of time, timers and quiescence (`settle`).
//!
//! Nothing else in the workspace reads wall time or sleeps (clippy enforces it); everything
//! asks a [`Clock`]. A clock runs in real time until [`Clock::pause`]; then time only moves
//! when a test calls [`Clock::advance`], and timers fire only when virtual time passes their
//! deadline. [`Clock::settle`] returns once no process has queued or running work, no message
//! is in flight between runtimes sharing this clock, and no due timer is waiting to fire.
//!
//! One clock may be shared by many runtimes (one virtual clock for a whole in-process
//! cluster). A clock owns one timer thread; it stops when the last handle is dropped.
#![allow(clippy::disallowed_methods)] // the one module allowed to read wall time and wait on it

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::ops::{Add, Sub};
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::channel::oneshot;
use parking_lot::{Condvar, Mutex};

/// A point in (possibly virtual) time: nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(u64);

impl Time {
    /// The Unix epoch.
    pub const EPOCH: Time = Time(0);

    /// A time from nanoseconds since the epoch.
    pub const fn from_nanos(nanos: u64) -> Self {
        Time(nanos)
    }

    /// Nanoseconds since the epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// A time from (fractional) seconds since the epoch; negative values clamp to the epoch.
    pub fn from_secs_f64(secs: f64) -> Self {
        Time((secs.max(0.0) * 1e9) as u64)
    }

    /// Seconds since the epoch, as Mesos renders times in JSON.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The duration from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Time) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Time {
    type Output = Time;
    fn add(self, d: Duration) -> Time {
        Time(
            self.0
                .saturating_add(d.as_nanos().min(u64::MAX as u128) as u64),
        )
    }
}

impl Sub<Duration> for Time {
    type Output = Time;
    fn sub(self, d: Duration) -> Time {
        Time(
            self.0
                .saturating_sub(d.as_nanos().min(u64::MAX as u128) as u64),
        )
    }
}

impl Sub<Time> for Time {
    type Output = Duration;
    fn sub(self, earlier: Time) -> Duration {
        self.saturating_since(earlier)
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Time({:.9}s)", self.as_secs_f64())
    }
}

/// Identifies a scheduled timer so it can be cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId(u64);

/// A future (from [`Clock::timeout`]) that did not finish in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("deadline elapsed")]
pub struct Elapsed;

type Callback = Box<dyn FnOnce() + Send>;

struct State {
    paused: Option<Time>,
    /// Added to real time while running, so that `resume` never moves time backwards.
    offset_nanos: i64,
    timers: BTreeMap<(Time, u64), Callback>,
    deadlines: HashMap<u64, Time>,
    next_id: u64,
    shutdown: bool,
}

struct Inner {
    state: Mutex<State>,
    wake: Condvar,
    base_wall: Time,
    base_instant: Instant,
    /// Events queued or running in processes, plus messages in flight between runtimes.
    pending: AtomicI64,
    settle_waiters: AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Inner {
    fn real_now(&self) -> Time {
        self.base_wall + self.base_instant.elapsed()
    }

    fn now_locked(&self, st: &State) -> Time {
        match st.paused {
            Some(t) => t,
            None => {
                let real = self.real_now().as_nanos() as i128 + st.offset_nanos as i128;
                Time(real.max(0) as u64)
            }
        }
    }

    fn take_due(&self, st: &mut State) -> Vec<Callback> {
        let now = self.now_locked(st);
        let mut due = Vec::new();
        while let Some(entry) = st.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((_, id), cb) = entry.remove_entry();
            st.deadlines.remove(&id);
            due.push(cb);
        }
        // Timers taken but not yet run count as work, so `settle` cannot slip in between
        // taking a timer and its callback enqueueing a continuation.
        self.pending.fetch_add(due.len() as i64, Ordering::SeqCst);
        due
    }

    fn has_due(&self, st: &State) -> bool {
        let now = self.now_locked(st);
        st.timers
            .first_key_value()
            .is_some_and(|((t, _), _)| *t <= now)
    }

    fn notify_if_idle(&self) {
        if self.settle_waiters.load(Ordering::SeqCst) > 0 {
            self.idle.notify_waiters();
        }
    }

    fn fire(&self, due: Vec<Callback>) {
        let n = due.len() as i64;
        for cb in due {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(cb)).is_err() {
                tracing::error!("a clock timer callback panicked");
            }
        }
        if n > 0 && self.pending.fetch_sub(n, Ordering::SeqCst) == n {
            self.notify_if_idle();
        }
    }
}

struct DriverGuard(Arc<Inner>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        self.0.state.lock().shutdown = true;
        self.0.wake.notify_all();
    }
}

/// The clock shared by processes, timers and tests. Cheap to clone.
#[derive(Clone)]
pub struct Clock {
    inner: Arc<Inner>,
    _driver: Arc<DriverGuard>,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock")
            .field("now", &self.now())
            .field("paused", &self.is_paused())
            .finish()
    }
}

impl Clock {
    /// A new clock running in real time, with its own timer thread.
    pub fn new() -> Self {
        let base_wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| Time::EPOCH + d)
            .unwrap_or(Time::EPOCH);
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                paused: None,
                offset_nanos: 0,
                timers: BTreeMap::new(),
                deadlines: HashMap::new(),
                next_id: 0,
                shutdown: false,
            }),
            wake: Condvar::new(),
            base_wall,
            base_instant: Instant::now(),
            pending: AtomicI64::new(0),
            settle_waiters: AtomicUsize::new(0),
            idle: tokio::sync::Notify::new(),
        });
        let driver = inner.clone();
        std::thread::Builder::new()
            .name("libprocess-clock".into())
            .spawn(move || drive(driver))
            .expect("spawning the clock thread");
        Clock {
            _driver: Arc::new(DriverGuard(inner.clone())),
            inner,
        }
    }

    /// The current time: virtual while paused, otherwise real time (plus any advances).
    pub fn now(&self) -> Time {
        let st = self.inner.state.lock();
        self.inner.now_locked(&st)
    }

    /// Freezes time; timers then fire only through [`Clock::advance`].
    pub fn pause(&self) {
        let mut st = self.inner.state.lock();
        if st.paused.is_none() {
            st.paused = Some(self.inner.now_locked(&st));
        }
    }

    /// True while time is frozen.
    pub fn is_paused(&self) -> bool {
        self.inner.state.lock().paused.is_some()
    }

    /// Lets time run again, continuing from the current virtual time.
    pub fn resume(&self) {
        let mut st = self.inner.state.lock();
        if let Some(t) = st.paused.take() {
            let real = self.inner.real_now().as_nanos() as i128;
            st.offset_nanos = (t.as_nanos() as i128 - real) as i64;
        }
        drop(st);
        self.inner.wake.notify_all();
    }

    /// Moves time forward by `d` and fires every timer that became due (in deadline order).
    pub fn advance(&self, d: Duration) {
        let due = {
            let mut st = self.inner.state.lock();
            match st.paused.as_mut() {
                Some(t) => *t = *t + d,
                None => st.offset_nanos = st.offset_nanos.saturating_add(d.as_nanos() as i64),
            }
            self.inner.take_due(&mut st)
        };
        self.inner.fire(due);
        self.inner.wake.notify_all();
    }

    /// Runs `f` once time reaches `now() + d`. Callbacks must be short (they run on the
    /// timer thread or inside `advance`); they typically enqueue work on a process.
    pub fn schedule(&self, d: Duration, f: impl FnOnce() + Send + 'static) -> TimerId {
        let mut st = self.inner.state.lock();
        let deadline = self.inner.now_locked(&st) + d;
        let id = st.next_id;
        st.next_id += 1;
        st.timers.insert((deadline, id), Box::new(f));
        st.deadlines.insert(id, deadline);
        drop(st);
        self.inner.wake.notify_all();
        TimerId(id)
    }

    /// Cancels a timer; false if it already fired or was cancelled.
    pub fn cancel(&self, id: TimerId) -> bool {
        let mut st = self.inner.state.lock();
        match st.deadlines.remove(&id.0) {
            Some(t) => st.timers.remove(&(t, id.0)).is_some(),
            None => false,
        }
    }

    /// A future that completes once `d` of clock time has passed (virtual time when paused).
    pub fn sleep(&self, d: Duration) -> Sleep {
        let (tx, rx) = oneshot::channel();
        let id = self.schedule(d, move || {
            let _ = tx.send(());
        });
        Sleep {
            rx,
            id,
            clock: self.clone(),
        }
    }

    /// Runs `fut`, giving up with [`Elapsed`] once `d` of clock time has passed (counted
    /// from this call).
    pub fn timeout<F: Future>(
        &self,
        d: Duration,
        fut: F,
    ) -> impl Future<Output = Result<F::Output, Elapsed>> {
        let sleep = self.sleep(d);
        async move {
            futures::pin_mut!(fut);
            match futures::future::select(fut, sleep).await {
                futures::future::Either::Left((out, _)) => Ok(out),
                futures::future::Either::Right(_) => Err(Elapsed),
            }
        }
    }

    /// Waits until no process sharing this clock has queued or running work, no message is
    /// in flight between them, and no due timer is waiting to fire. Meant for paused clocks.
    pub async fn settle(&self) {
        struct Waiter<'a>(&'a Inner);
        impl Drop for Waiter<'_> {
            fn drop(&mut self) {
                self.0.settle_waiters.fetch_sub(1, Ordering::SeqCst);
            }
        }
        self.inner.settle_waiters.fetch_add(1, Ordering::SeqCst);
        let _waiter = Waiter(&self.inner);
        loop {
            let notified = self.inner.idle.notified();
            futures::pin_mut!(notified);
            notified.as_mut().enable();
            if self.is_settled() {
                return;
            }
            notified.await;
        }
    }

    /// [`Clock::settle`] for synchronous code (plain `#[test]`s). Do not call it from inside
    /// a process handler: that handler's own work would never finish.
    pub fn settle_blocking(&self) {
        futures::executor::block_on(self.settle());
    }

    fn is_settled(&self) -> bool {
        // Read `pending` under the timer lock: `take_due` moves a timer from the map into
        // `pending` while holding it, so each timer is seen in exactly one of the two.
        // Reading `pending` first would miss a timer taken between the two reads.
        let st = self.inner.state.lock();
        self.inner.pending.load(Ordering::SeqCst) == 0 && !self.inner.has_due(&st)
    }

    /// Counts one unit of work (an enqueued event or a message in flight).
    pub(crate) fn work_started(&self) {
        self.inner.pending.fetch_add(1, Ordering::SeqCst);
    }

    /// Finishes one unit of work counted by `work_started`.
    pub(crate) fn work_done(&self) {
        if self.inner.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.notify_if_idle();
        }
    }

    /// Finishes `n` units of work at once.
    pub(crate) fn work_done_n(&self, n: usize) {
        if n == 0 {
            return;
        }
        if self.inner.pending.fetch_sub(n as i64, Ordering::SeqCst) == n as i64 {
            self.inner.notify_if_idle();
        }
    }

    /// True if both handles are the same clock.
    pub fn same_as(&self, other: &Clock) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

fn drive(inner: Arc<Inner>) {
    let mut st = inner.state.lock();
    loop {
        if st.shutdown {
            return;
        }
        let due = inner.take_due(&mut st);
        if !due.is_empty() {
            drop(st);
            inner.fire(due);
            st = inner.state.lock();
            continue;
        }
        let next = st.timers.first_key_value().map(|((t, _), _)| *t);
        match (next, st.paused) {
            (Some(deadline), None) => {
                let wait = deadline.saturating_since(inner.now_locked(&st));
                inner.wake.wait_for(&mut st, wait);
            }
            _ => inner.wake.wait(&mut st),
        }
    }
}

/// A future completing after a clock duration; dropping it cancels the timer.
pub struct Sleep {
    rx: oneshot::Receiver<()>,
    id: TimerId,
    clock: Clock,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<()> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(_) => Poll::Ready(()),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.clock.cancel(self.id);
    }
}
