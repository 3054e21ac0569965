//! The master's side of the allocator actor: starting it, turning its cycle reports into
//! offers, keeping the last snapshot for synchronous queries, and refreshing the master's
//! metrics every allocation interval.

use std::sync::Arc;

use libprocess::Context;

use super::Master;
use crate::allocator::actor::{ActorConfig, CycleReport};

impl Master {
    /// Spawns `hierarchical-allocator(N)` beside the master; its reports come back as
    /// dispatches on the master, in cycle order.
    pub(super) fn start_allocator(&mut self, ctx: &mut Context<Self>) {
        let me = ctx.pid();
        let sink = Arc::new(move |report: CycleReport| {
            me.dispatch_and_forget(move |m: &mut Master, ctx| m.allocation_report(ctx, report));
        });
        let config = ActorConfig {
            interval: self.flags.allocation_interval,
            sink,
            owner: Some(ctx.self_pid().clone()),
        };
        match self.allocator.start(&ctx.runtime(), config) {
            Ok(pid) => tracing::debug!(allocator = %pid, "allocator started"),
            Err(e) => {
                // Without an allocator no offer is ever made: stop, as Mesos aborts.
                tracing::error!(error = %e, "cannot start the allocator; terminating the master");
                ctx.terminate();
                return;
            }
        }
        self.schedule_metrics_refresh(ctx);
    }

    fn schedule_metrics_refresh(&mut self, ctx: &mut Context<Self>) {
        let every = self.flags.allocation_interval;
        ctx.delay(every, |m: &mut Master, ctx| {
            m.refresh_metrics(ctx);
            m.schedule_metrics_refresh(ctx);
        });
    }

    fn allocation_report(&mut self, ctx: &mut Context<Self>, report: CycleReport) {
        self.allocator_snapshot = report.snapshot;
        if !report.allocations.is_empty() {
            self.allocate(ctx, report.allocations);
        }
    }

    /// What the allocator reported after its last cycle.
    pub fn allocator_snapshot(&self) -> &crate::allocator::actor::AllocatorSnapshot {
        &self.allocator_snapshot
    }

    /// The allocator handle (tests read the allocator through [`AllocatorHandle::query`]).
    ///
    /// [`AllocatorHandle::query`]: crate::allocator::actor::AllocatorHandle::query
    pub fn allocator(&self) -> &crate::allocator::actor::AllocatorHandle {
        &self.allocator
    }
}
