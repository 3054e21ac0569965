//! The Mesos agent: runs tasks on a machine for the master.
//!
//! Foundations so far, one module per concept:
//! - [`flags`]: the agent's flags with Mesos's names and defaults;
//! - [`resources`]: the agent's total resources (`--resources` + detection) and attributes;
//! - [`paths`]: Mesos's work-dir layout (sandboxes, `meta/` checkpoints, `latest` links);
//! - [`checkpoint`]: durable atomic files and append-only record logs;
//! - [`status_update_manager`]: per-task ordered, retried, checkpointed status updates;
//! - [`executor_env`]: the environment Mesos gives executors;
//! - [`default_executor`]: the default executor's logic (task groups, `mesos-default-executor`);
//! - [`containerizer`]: launcher + isolators, with OS effects behind [`containerizer::ProcessOps`];
//! - [`fetcher`]: `CommandInfo.uris` into the sandbox (copy, extract, executable bit, cache);
//! - [`reaper`]: the agent as child subreaper, reaping orphans without stealing children;
//! - [`proc_stat`]: `/proc/<pid>/stat` for usage and zombies;
//! - [`http`]: the agent's HTTP endpoints (`/state`, `/metrics/snapshot`, `/api/v1`, ...);
//! - [`files`]: sandboxes over `/files/*` under virtual paths that never escape them;
//! - [`run`]: starting a whole agent from its flags (for `mesos agent` / `mesos local`);
//! - [`slave`]: the agent actor (registration, pings, reliable status updates);
//! - [`sys`]: the few raw system calls (the only module with `unsafe`).

pub mod checkpoint;
pub mod containerizer;
pub mod default_executor;
pub mod executor_env;
pub mod fetcher;
pub mod files;
pub mod flags;
pub mod http;
pub mod operations;
pub mod paths;
pub mod proc_stat;
pub mod reaper;
pub mod resources;
pub mod run;
pub mod slave;
pub mod status_update_manager;
pub mod sys;
pub mod volumes;
