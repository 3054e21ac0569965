//! The agent's HTTP surface on `slave(1)` (reachable without the prefix through the
//! runtime's delegate): `/state` (`/state.json`), `/flags`, `/health`, `/version`,
//! `/metrics/snapshot`, the v1 operator API `/api/v1`, and the sandbox browser
//! `/files/{browse,read,download,debug}`.
//!
//! ```text
//!  HTTP ─▶ slave(1) route ─▶ AgentView (borrowed model) ─▶ render / operator / metrics
//!                         └─▶ Files table (cloned) ─▶ off-actor file I/O ─▶ response
//!  actor hooks: status update accepted ─▶ counters, sandbox attached
//!               executor ended          ─▶ completed executor kept, counters
//! ```
//!
//! Sandboxes are attached as Mesos 1.8 does, under three virtual paths each: the real
//! run directory, `<work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/latest`
//! and `/frameworks/<fw>/executors/<ex>/runs/latest`.

pub mod metrics;
pub mod operator;
pub mod render;
pub mod state;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libprocess::{Context, Reply, Request, Response, Routes, Time, Upid};
use mesos_protos::mesos::internal;
use mesos_protos::v1;
use serde_json::{json, Value};

use crate::containerizer::Containerizer;
use crate::files::http::json_reply;
use crate::files::Files;
use crate::flags::AgentFlags;
use crate::slave::model::Framework;
use crate::slave::{Slave, VERSION};
use crate::status_update_manager::is_terminal_state;

/// Reported build date.
pub const BUILD_DATE: &str = "2019-05-01 00:00:00";
/// Reported build time (seconds since the epoch).
pub const BUILD_TIME: f64 = 1_556_668_800.0;
/// Reported build user.
pub const BUILD_USER: &str = "mesos-rs";
/// Completed frameworks kept for `/state` (Mesos's `--max_completed_frameworks`).
pub const MAX_COMPLETED_FRAMEWORKS: usize = 50;

/// `/version` and GET_VERSION.
pub fn version_info() -> v1::VersionInfo {
    v1::VersionInfo {
        version: VERSION.to_string(),
        build_date: Some(BUILD_DATE.into()),
        build_time: Some(BUILD_TIME),
        build_user: Some(BUILD_USER.into()),
        ..Default::default()
    }
}

/// Counters the actor's hooks keep (Mesos's push metrics).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Tasks that reached FINISHED, FAILED, KILLED, LOST, GONE (in the order of
    /// [`metrics::TERMINAL_TASK_METRICS`]).
    pub tasks_terminal: [u64; 5],
    /// `slave/valid_status_updates`.
    pub valid_status_updates: u64,
    /// `slave/invalid_status_updates`.
    pub invalid_status_updates: u64,
    /// `slave/executors_terminated`.
    pub executors_terminated: u64,
    /// `slave/executors_preempted`.
    pub executors_preempted: u64,
    /// `slave/recovery_errors`.
    pub recovery_errors: u64,
    /// `slave/valid_framework_messages`.
    pub valid_framework_messages: u64,
    /// `slave/invalid_framework_messages`.
    pub invalid_framework_messages: u64,
    /// `slave/container_launch_errors`.
    pub container_launch_errors: u64,
    /// `containerizer/mesos/container_destroy_errors`.
    pub container_destroy_errors: u64,
}

/// An executor that has ended, as `/state` and GET_EXECUTORS/GET_TASKS show it.
#[derive(Debug, Clone)]
pub struct CompletedExecutor {
    /// Its description.
    pub info: v1::ExecutorInfo,
    /// Its container.
    pub container_id: String,
    /// Its sandbox (still browsable).
    pub sandbox: PathBuf,
    /// Its tasks, in their last state.
    pub tasks: Vec<v1::Task>,
}

/// The ended executors of one framework (newest last, bounded).
#[derive(Debug, Clone)]
pub struct CompletedFramework {
    /// The framework's description.
    pub info: v1::FrameworkInfo,
    /// Its ended executors.
    pub executors: VecDeque<CompletedExecutor>,
}

/// What the HTTP surface keeps in the agent actor.
#[derive(Debug, Default)]
pub struct HttpState {
    /// When the agent started.
    pub start_time: Option<Time>,
    /// The sandbox table served by `/files`.
    pub files: Files,
    /// Containers whose sandboxes are attached, with the (virtual, real) pairs.
    attached: HashMap<String, Vec<(String, PathBuf)>>,
    /// Ended executors by framework id.
    pub completed: BTreeMap<String, CompletedFramework>,
    /// Push counters.
    pub counters: Counters,
}

impl HttpState {
    /// Nothing yet.
    pub fn new() -> HttpState {
        HttpState::default()
    }

    /// Records the agent's start.
    pub fn started(&mut self, now: Time) {
        self.start_time.get_or_insert(now);
    }

    /// Counts an update the status update manager refused.
    pub fn invalid_status_update(&mut self) {
        self.counters.invalid_status_updates += 1;
    }

    /// Attaches a run's sandbox under its three virtual paths (once per container).
    pub fn attach_sandbox(
        &mut self,
        work_dir: &Path,
        agent_id: Option<&str>,
        framework_id: &str,
        executor_id: &str,
        container_id: &str,
        sandbox: &Path,
    ) {
        if self.attached.contains_key(container_id) {
            return;
        }
        let mut virtual_paths = vec![
            sandbox.display().to_string(),
            format!("/frameworks/{framework_id}/executors/{executor_id}/runs/latest"),
        ];
        if let Some(agent) = agent_id {
            let latest = work_dir
                .join("slaves")
                .join(agent)
                .join("frameworks")
                .join(framework_id)
                .join("executors")
                .join(executor_id)
                .join("runs")
                .join("latest");
            virtual_paths.push(latest.display().to_string());
        }
        let mut done = Vec::with_capacity(virtual_paths.len());
        for v in virtual_paths {
            match self.files.attach(sandbox, &v) {
                Ok(real) => done.push((v, real)),
                Err(e) => {
                    tracing::warn!("cannot attach sandbox {} as {v}: {e}", sandbox.display());
                    return;
                }
            }
        }
        self.attached.insert(container_id.to_string(), done);
    }

    /// Detaches a run's sandbox (its `latest` paths only if no newer run took them).
    fn detach_sandbox(&mut self, container_id: &str) {
        for (v, real) in self.attached.remove(container_id).unwrap_or_default() {
            self.files.detach_if(&v, &real);
        }
    }

    /// Forgets ended executors beyond `limit` per framework (oldest first), with their
    /// sandboxes' attachments, as Mesos drops them from its bounded history.
    fn trim_completed(&mut self, fid: &str, limit: usize) {
        let mut evicted = Vec::new();
        if let Some(entry) = self.completed.get_mut(fid) {
            while entry.executors.len() > limit {
                if let Some(e) = entry.executors.pop_front() {
                    evicted.push(e.container_id);
                }
            }
        }
        for cid in evicted {
            self.detach_sandbox(&cid);
        }
    }
}

/// The parts of the agent the HTTP surface reads, borrowed for one request or hook.
pub struct AgentView<'a> {
    /// The flags.
    pub flags: &'a AgentFlags,
    /// The agent's description (id once registered).
    pub info: &'a v1::AgentInfo,
    /// The agent's total resources with its checkpointed reservations and volumes
    /// applied (what `/state` reports as `resources`).
    pub total_resources: &'a mesos_protos::resources::Resources,
    /// The master it registers with.
    pub master: &'a Upid,
    /// Registered with the master.
    pub registered: bool,
    /// Frameworks with their live executors and tasks.
    pub frameworks: &'a BTreeMap<String, Framework>,
    /// The containerizer (container status and usage).
    pub containerizer: &'a Arc<dyn Containerizer>,
    /// The capabilities the agent reports to the master.
    pub capabilities: fn() -> Vec<v1::agent_info::Capability>,
    /// What the HTTP surface keeps.
    pub http: &'a mut HttpState,
}

/// The agent's id, once the master assigned one.
fn agent_id_of(info: &v1::AgentInfo) -> Option<&str> {
    info.id
        .as_ref()
        .map(|i| i.value.as_str())
        .filter(|v| !v.is_empty())
}

impl<'a> AgentView<'a> {
    /// The capabilities' names (`MULTI_ROLE`, ...), as `/state` lists them.
    pub fn capability_names(&self) -> Vec<&'static str> {
        (self.capabilities)()
            .iter()
            .map(|c| {
                c.r#type
                    .and_then(|t| v1::agent_info::capability::Type::try_from(t).ok())
                    .map_or("UNKNOWN", |t| t.as_str_name())
            })
            .collect()
    }

    fn agent_id(&self) -> Option<&'a str> {
        agent_id_of(self.info)
    }

    /// Attaches every live executor's sandbox not attached yet.
    pub fn sync_files(&mut self) {
        let agent = self.agent_id();
        for (fid, f) in self.frameworks {
            for (eid, e) in &f.executors {
                self.http.attach_sandbox(
                    &self.flags.work_dir,
                    agent,
                    fid,
                    eid,
                    &e.container_id,
                    &e.sandbox,
                );
            }
        }
    }

    /// Hook: the status update manager accepted `update` and the model recorded it.
    /// Counts it (and the task's first terminal state) and attaches its sandbox.
    pub fn status_update_accepted(&mut self, update: &internal::StatusUpdate) {
        self.http.counters.valid_status_updates += 1;
        let fid = update.framework_id.value.as_str();
        let tid = update.status.task_id.value.as_str();
        let exec = self.frameworks.get(fid).and_then(|fw| {
            let holds = |e: &&crate::slave::model::Executor| e.tasks.contains_key(tid);
            update
                .executor_id
                .as_ref()
                .and_then(|e| fw.executors.get(&e.value))
                .filter(holds)
                .or_else(|| fw.executors.get(tid).filter(holds))
                .or_else(|| fw.executor_of(tid))
        });
        let state = update.status.state();
        if is_terminal_state(state) {
            // A task the model never held (its executor failed to launch) ends here
            // too; a known one counts only on its first terminal state.
            let first = exec.and_then(|e| e.tasks.get(tid)).is_none_or(|t| {
                t.statuses
                    .iter()
                    .filter(|s| is_terminal_state(s.state()))
                    .count()
                    <= 1
            });
            let slot = metrics::TERMINAL_TASK_METRICS
                .iter()
                .position(|(s, _)| *s == state);
            if let (true, Some(i)) = (first, slot) {
                self.http.counters.tasks_terminal[i] += 1;
            }
        }
        let Some(exec) = exec else {
            return;
        };
        let agent = self.agent_id();
        self.http.attach_sandbox(
            &self.flags.work_dir,
            agent,
            fid,
            &exec.info.executor_id.value,
            &exec.container_id,
            &exec.sandbox,
        );
    }

    /// Hook: executor `eid` of `fid` has ended and is about to leave the model; keep
    /// it (and its tasks in their last state) for `/state` and the v1 calls.
    pub fn executor_completed(&mut self, fid: &str, eid: &str) {
        let Some(fw) = self.frameworks.get(fid) else {
            return;
        };
        let Some(exec) = fw.executors.get(eid) else {
            return;
        };
        self.http.counters.executors_terminated += 1;
        let agent = self.agent_id();
        self.http.attach_sandbox(
            &self.flags.work_dir,
            agent,
            fid,
            eid,
            &exec.container_id,
            &exec.sandbox,
        );
        let done = CompletedExecutor {
            info: exec.info.clone(),
            container_id: exec.container_id.clone(),
            sandbox: exec.sandbox.clone(),
            tasks: exec.tasks.values().cloned().collect(),
        };
        let limit =
            usize::try_from(self.flags.max_completed_executors_per_framework).unwrap_or(usize::MAX);
        let entry = self
            .http
            .completed
            .entry(fid.to_string())
            .or_insert_with(|| CompletedFramework {
                info: fw.info.clone(),
                executors: VecDeque::new(),
            });
        entry.info = fw.info.clone();
        entry.executors.push_back(done);
        self.http.trim_completed(fid, limit);
        if self.http.completed.len() > MAX_COMPLETED_FRAMEWORKS {
            // Drop the oldest-id framework that has no live executors.
            let drop = self
                .http
                .completed
                .keys()
                .find(|k| {
                    self.frameworks
                        .get(*k)
                        .is_none_or(|f| f.executors.is_empty())
                        && k.as_str() != fid
                })
                .cloned();
            if let Some(k) = drop {
                self.http.trim_completed(&k, 0);
                self.http.completed.remove(&k);
            }
        }
    }
}

fn text(status: u16, message: impl Into<String>) -> Response {
    Response::status(status)
        .with_body(message.into())
        .with_header("Content-Type", "text/plain; charset=utf-8")
}

/// Computes the agent's metrics, publishes them in the runtime's registry, and returns
/// the whole registry snapshot.
fn publish_metrics(s: &mut Slave, ctx: &mut Context<Slave>) -> serde_json::Map<String, Value> {
    let now = ctx.clock().now().as_secs_f64();
    let list = metrics::agent_metrics(&s.http_view(), now);
    let registry = ctx.metrics();
    for (k, v) in list {
        registry.gauge(&k).set(v);
    }
    registry.snapshot()
}

fn state_route(s: &mut Slave, ctx: &mut Context<Slave>, req: Request) -> Response {
    let pid = ctx.self_pid().to_string();
    let mut view = s.http_view();
    view.sync_files();
    json_reply(&state::state_json(&view, &pid), &req)
}

fn api_route(s: &mut Slave, ctx: &mut Context<Slave>, req: Request) -> Reply {
    let failure = |f: operator::Failure| {
        let r = text(f.status, f.message);
        if f.status == 405 {
            r.with_header("Allow", "POST")
        } else {
            r
        }
    };
    let media = match operator::negotiate(&req.method, |k| req.header(k).map(str::to_string)) {
        Ok(m) => m,
        Err(f) => return failure(f).into(),
    };
    let call = match operator::parse_call(&req.body, media.protobuf_in) {
        Ok(c) => c,
        Err(f) => return failure(f).into(),
    };
    let encode = move |r: &v1::agent::Response| {
        if media.protobuf_out {
            Response::ok(prost::Message::encode_to_vec(r))
                .with_header("Content-Type", "application/x-protobuf")
        } else {
            Response::ok(mesos_protos::json::to_vec(r))
                .with_header("Content-Type", "application/json")
        }
    };
    if operator::is_files_call(&call) {
        let mut view = s.http_view();
        view.sync_files();
        let files = view.http.files.clone();
        return Reply::later(async move {
            match operator::answer_files(&call, &files) {
                Ok(r) => encode(&r),
                Err(f) => text(f.status, f.message),
            }
        });
    }
    let is_metrics = call.r#type == Some(v1::agent::call::Type::GetMetrics as i32);
    let metrics: Vec<(String, f64)> = if is_metrics {
        publish_metrics(s, ctx)
            .into_iter()
            .filter_map(|(k, v)| v.as_f64().map(|v| (k, v)))
            .collect()
    } else {
        Vec::new()
    };
    match operator::answer(&call, &s.http_view(), &metrics) {
        Ok(r) => encode(&r),
        Err(f) => failure(f),
    }
    .into()
}

fn files_route(s: &mut Slave, req: Request, serve: fn(&Files, &Request) -> Response) -> Reply {
    let mut view = s.http_view();
    view.sync_files();
    let files = view.http.files.clone();
    Reply::later(async move { serve(&files, &req) })
}

/// Registers the agent's HTTP routes on `slave(1)`.
pub fn routes(r: &mut Routes<Slave>) {
    r.get("state", state_route);
    r.get("state.json", state_route);
    r.get("flags", |s, _ctx, req| {
        json_reply(&json!({"flags": state::flags_object(&s.http_view())}), &req)
    });
    r.get("health", |_s, _ctx, _req| Response::status(200));
    r.get("version", |_s, _ctx, req| {
        json_reply(&mesos_protos::json::to_value(&version_info()), &req)
    });
    r.get("metrics/snapshot", |s, ctx, req| {
        json_reply(&Value::Object(publish_metrics(s, ctx)), &req)
    });
    r.any("api/v1", api_route);
    r.get("files/browse", |s, _ctx, req| {
        files_route(s, req, crate::files::http::browse)
    });
    r.get("files/read", |s, _ctx, req| {
        files_route(s, req, crate::files::http::read)
    });
    r.get("files/download", |s, _ctx, req| {
        files_route(s, req, crate::files::http::download)
    });
    r.get("files/debug", |s, _ctx, req| {
        files_route(s, req, crate::files::http::debug)
    });
}
