//! Sandboxes over real HTTP: `/files/browse|read|download|debug` and the v1 LIST_FILES /
//! READ_FILE calls under Mesos's three virtual paths per run, and the escapes they
//! refuse (`../`, `%2e%2e`, symlinks out of the sandbox, absolute paths).

use std::path::PathBuf;
use std::time::Duration;

use libprocess::{block_on, Pid};
use mesos_agent::containerizer::process_ops::OpCall;
use mesos_agent::slave::Slave;
use mesos_agent::sys::WaitStatus;
use mesos_protos::v1;
use mesos_protos::v1::agent::{call, Call};
use serde_json::Value;

#[path = "support/cluster.rs"]
mod support;
use support::*;

struct Agent {
    c: Cluster,
    agent: Pid<Slave>,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
}

/// `../` repeated to climb from `dir` to `base`.
fn ups(dir: &std::path::Path, base: &std::path::Path) -> String {
    "../".repeat(dir.strip_prefix(base).unwrap().components().count())
}

/// An agent running command task `t1` (recording fake), whose sandbox holds `stdout`,
/// `sub/inner.txt`, and links out of it (`abs-link` absolute, `rel-link` relative) to
/// `outside.txt`, a file beside the agent's work dir.
fn agent_with_sandbox() -> (Agent, PathBuf, PathBuf) {
    let c = cluster(true);
    let agent = c.start_agent("slave(1)");
    c.advance(Duration::from_secs(1));
    c.rt.send_from(c.master.upid(), agent.upid(), run_task_message("t1", true));
    c.settle();
    let sandbox =
        block_on(agent.dispatch(|s, _| s.frameworks()["fw"].executors["t1"].sandbox.clone()))
            .unwrap();
    std::fs::write(sandbox.join("stdout"), b"hello world\n").unwrap();
    std::fs::create_dir_all(sandbox.join("sub")).unwrap();
    std::fs::write(sandbox.join("sub/inner.txt"), b"inner").unwrap();
    let outside = c.work.path().join("outside.txt");
    std::fs::write(&outside, b"secret").unwrap();
    std::os::unix::fs::symlink(&outside, sandbox.join("abs-link")).unwrap();
    std::os::unix::fs::symlink(
        format!("{}outside.txt", ups(&sandbox, c.work.path())),
        sandbox.join("rel-link"),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (
        Agent {
            c,
            agent,
            rt,
            client: reqwest::Client::new(),
        },
        sandbox,
        outside,
    )
}

impl Agent {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.c.rt.address())
    }

    fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        self.rt.block_on(async {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = resp.bytes().await.unwrap().to_vec();
            Reply {
                status,
                headers,
                body,
            }
        })
    }

    /// GET `endpoint` with `path` (and more) as query parameters, encoded by reqwest.
    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Reply {
        self.send(self.client.get(self.url(endpoint)).query(query))
    }

    /// GET with a query string written by hand (for hand-made percent escapes).
    fn get_raw(&self, endpoint_and_query: &str) -> Reply {
        self.send(self.client.get(self.url(endpoint_and_query)))
    }

    fn call(&self, call: &Call) -> Reply {
        self.send(
            self.client
                .post(self.url("/api/v1"))
                .header("Content-Type", "application/x-protobuf")
                .header("Accept", "application/x-protobuf")
                .body(prost::Message::encode_to_vec(call)),
        )
    }
}

fn virtual_paths(a: &Agent, sandbox: &std::path::Path) -> Vec<String> {
    let work = a.c.work.path().join("work");
    vec![
        "/frameworks/fw/executors/t1/runs/latest".to_string(),
        format!(
            "{}/slaves/m1-S0/frameworks/fw/executors/t1/runs/latest",
            work.display()
        ),
        sandbox.display().to_string(),
    ]
}

#[test]
fn read_browse_and_download_under_every_virtual_path() {
    let (a, sandbox, _) = agent_with_sandbox();
    for root in virtual_paths(&a, &sandbox) {
        let file = format!("{root}/stdout");
        let r = a.get("/files/read", &[("path", &file), ("offset", "0")]);
        assert_eq!(r.status, 200, "{root}");
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(
            r.json(),
            serde_json::json!({"data": "hello world\n", "offset": 0})
        );
        // offset=-1 (or none) answers the size.
        let r = a.get("/files/read", &[("path", &file), ("offset", "-1")]);
        assert_eq!(r.json(), serde_json::json!({"data": "", "offset": 12}));
        let r = a.get("/files/read", &[("path", &file)]);
        assert_eq!(r.json(), serde_json::json!({"data": "", "offset": 12}));
        let r = a.get(
            "/files/read",
            &[("path", &file), ("offset", "6"), ("length", "5")],
        );
        assert_eq!(r.json(), serde_json::json!({"data": "world", "offset": 6}));
        let r = a.get("/files/read", &[("path", &file), ("offset", "100")]);
        assert_eq!(r.json(), serde_json::json!({"data": "", "offset": 100}));

        let listing = a.get("/files/browse", &[("path", &root)]).json();
        let entries = listing.as_array().unwrap();
        let names: Vec<&str> = entries
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&format!("{root}/stdout").as_str()),
            "{names:?}"
        );
        assert!(names.contains(&format!("{root}/sub").as_str()), "{names:?}");
        let stdout = entries
            .iter()
            .find(|e| e["path"] == format!("{root}/stdout"))
            .unwrap();
        assert_eq!(stdout["size"], 12);
        assert!(stdout["mode"].as_str().unwrap().starts_with("-rw"));
        for k in ["nlink", "mtime"] {
            assert!(stdout[k].is_number(), "{k}");
        }
        for k in ["uid", "gid"] {
            assert!(stdout[k].is_string(), "{k}");
        }
        let sub = entries
            .iter()
            .find(|e| e["path"] == format!("{root}/sub"))
            .unwrap();
        assert!(sub["mode"].as_str().unwrap().starts_with('d'));

        let r = a.get("/files/download", &[("path", &file)]);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"hello world\n");
        assert_eq!(
            r.headers["content-disposition"],
            "attachment; filename=stdout"
        );
    }
    let r = a.get(
        "/files/read",
        &[
            (
                "path",
                "/frameworks/fw/executors/t1/runs/latest/sub/inner.txt",
            ),
            ("offset", "0"),
        ],
    );
    assert_eq!(r.json()["data"], "inner");

    let debug = a.get("/files/debug", &[]).json();
    for v in virtual_paths(&a, &sandbox) {
        assert_eq!(
            debug[&v],
            std::fs::canonicalize(&sandbox)
                .unwrap()
                .display()
                .to_string(),
            "{debug}"
        );
    }
    // The agent's own prefix works too.
    let r = a.get(
        "/slave(1)/files/read",
        &[
            ("path", "/frameworks/fw/executors/t1/runs/latest/stdout"),
            ("offset", "0"),
        ],
    );
    assert_eq!(r.json()["data"], "hello world\n");
}

#[test]
fn no_path_escapes_the_sandbox() {
    let (a, sandbox, outside) = agent_with_sandbox();
    let latest = "/frameworks/fw/executors/t1/runs/latest";
    let up = ups(&sandbox, a.c.work.path());
    let escapes = [
        format!("{latest}/{up}outside.txt"),
        format!("{latest}/.."),
        format!("{latest}/sub/../.."),
        format!("{}/{up}outside.txt", sandbox.display()),
        // Symlinks pointing out of the sandbox, absolute and relative.
        format!("{latest}/abs-link"),
        format!("{latest}/rel-link"),
    ];
    for path in &escapes {
        for endpoint in ["/files/read", "/files/download"] {
            let r = a.get(endpoint, &[("path", path), ("offset", "0")]);
            assert_eq!(r.status, 400, "{endpoint} {path}");
            assert!(
                String::from_utf8_lossy(&r.body).contains("inaccessible"),
                "{endpoint} {path}"
            );
            assert!(!String::from_utf8_lossy(&r.body).contains("secret"));
        }
    }
    let r = a.get("/files/browse", &[("path", &format!("{latest}/.."))]);
    assert_eq!(r.status, 400);
    // Percent-encoded dots in the query are the same dots.
    let encoded = up.replace("..", "%2e%2E");
    let r = a.get_raw(&format!(
        "/files/read?path={latest}/{encoded}outside.txt&offset=0"
    ));
    assert_eq!(r.status, 400);
    // Double-encoded dots are a (missing) file name, not a parent.
    let r = a.get_raw(&format!(
        "/files/read?path={latest}/%252e%252e/stdout&offset=0"
    ));
    assert_eq!(r.status, 404);
    // Absolute paths outside every attachment, and unattached ones, are not found.
    for path in [
        outside.display().to_string(),
        "/etc/passwd".to_string(),
        "/frameworks/fw/executors/other/runs/latest/stdout".to_string(),
        format!("{latest}/missing"),
    ] {
        let r = a.get("/files/read", &[("path", &path), ("offset", "0")]);
        assert_eq!(r.status, 404, "{path}");
        let r = a.get("/files/download", &[("path", &path)]);
        assert_eq!(r.status, 404, "{path}");
    }
    // The v1 calls refuse the same escapes.
    let r = a.call(&Call {
        r#type: Some(call::Type::ReadFile as i32),
        read_file: Some(call::ReadFile {
            path: format!("{latest}/rel-link"),
            offset: 0,
            length: None,
        }),
        ..Default::default()
    });
    assert_eq!(r.status, 400);
    let r = a.call(&Call {
        r#type: Some(call::Type::ListFiles as i32),
        list_files: Some(call::ListFiles {
            path: "/etc".into(),
        }),
        ..Default::default()
    });
    assert_eq!(r.status, 404);
}

#[test]
fn bad_requests_get_mesos_answers() {
    let (a, _, _) = agent_with_sandbox();
    let file = "/frameworks/fw/executors/t1/runs/latest/stdout";
    for endpoint in ["/files/read", "/files/browse", "/files/download"] {
        let r = a.get(endpoint, &[]);
        assert_eq!(r.status, 400, "{endpoint}");
        assert_eq!(r.body, b"Expecting 'path=value' in query.\n");
    }
    let r = a.get("/files/read", &[("path", file), ("offset", "-2")]);
    assert_eq!(r.status, 400);
    assert_eq!(r.body, b"Negative offset provided: -2.\n");
    let r = a.get("/files/read", &[("path", file), ("offset", "x")]);
    assert_eq!(r.status, 400);
    let r = a.get(
        "/files/read",
        &[("path", file), ("offset", "0"), ("length", "-5")],
    );
    assert_eq!(r.status, 400);
    let dir = "/frameworks/fw/executors/t1/runs/latest/sub";
    let r = a.get("/files/read", &[("path", dir), ("offset", "0")]);
    assert_eq!(r.status, 400);
    assert_eq!(r.body, b"Cannot read a directory.\n");
    let r = a.get("/files/download", &[("path", dir)]);
    assert_eq!(r.status, 400);
    let r = a.get(
        "/files/read",
        &[("path", file), ("offset", "0"), ("jsonp", "f")],
    );
    assert_eq!(r.headers["content-type"], "text/javascript");
    assert!(String::from_utf8_lossy(&r.body).starts_with("f({"));
}

#[test]
fn v1_list_and_read_files() {
    let (a, _, _) = agent_with_sandbox();
    let latest = "/frameworks/fw/executors/t1/runs/latest";
    let r = a.call(&Call {
        r#type: Some(call::Type::ListFiles as i32),
        list_files: Some(call::ListFiles {
            path: latest.into(),
        }),
        ..Default::default()
    });
    assert_eq!(r.status, 200);
    let resp: v1::agent::Response = prost::Message::decode(r.body.as_slice()).unwrap();
    assert_eq!(resp.r#type(), v1::agent::response::Type::ListFiles);
    let infos = resp.list_files.unwrap().file_infos;
    let stdout = infos
        .iter()
        .find(|i| i.path == format!("{latest}/stdout"))
        .expect("stdout listed");
    assert_eq!(stdout.size, Some(12));
    let r = a.call(&Call {
        r#type: Some(call::Type::ReadFile as i32),
        read_file: Some(call::ReadFile {
            path: format!("{latest}/stdout"),
            offset: 6,
            length: Some(5),
        }),
        ..Default::default()
    });
    let resp: v1::agent::Response = prost::Message::decode(r.body.as_slice()).unwrap();
    let read = resp.read_file.unwrap();
    assert_eq!(read.size, 12);
    assert_eq!(read.data, b"world");
    // JSON: `data` is base64.
    let r = a.send(
        a.client
            .post(a.url("/api/v1"))
            .header("Content-Type", "application/json")
            .body(format!(
                r#"{{"type":"READ_FILE","read_file":{{"path":"{latest}/stdout","offset":0}}}}"#
            )),
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["type"], "READ_FILE");
    assert_eq!(v["read_file"]["size"], 12);
    assert_eq!(v["read_file"]["data"], "aGVsbG8gd29ybGQK");
}

#[test]
fn a_finished_executors_sandbox_stays_readable() {
    let (mut a, _, _) = agent_with_sandbox();
    let pid =
        a.c.ops
            .calls()
            .iter()
            .find_map(|call| match call {
                OpCall::Spawn(_, pid) => Some(*pid),
                _ => None,
            })
            .unwrap();
    assert!(a.c.ops.exit(pid, WaitStatus::Exited(0)));
    a.c.wait_for(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
    let gone = block_on(
        a.agent
            .dispatch(|s, _| s.frameworks()["fw"].executors.is_empty()),
    )
    .unwrap();
    assert!(gone);
    let r = a.get(
        "/files/read",
        &[
            ("path", "/frameworks/fw/executors/t1/runs/latest/stdout"),
            ("offset", "0"),
        ],
    );
    assert_eq!(r.json()["data"], "hello world\n");
}

/// A real command task (the built `mesos-executor` running `echo`): its output is read
/// back through `/files/read` once it has finished and its executor is gone.
#[test]
fn a_real_tasks_output_is_served_and_escapes_are_refused() {
    let launcher_dir = std::path::Path::new(env!("CARGO_BIN_EXE_mesos-executor"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    let mut c = cluster(true);
    let agent = c.start_real_agent("slave(1)", &launcher_dir);
    c.advance(Duration::from_secs(1));
    c.drain();
    let mut msg = run_task_message("t1", true);
    msg.task.command = Some(v1::CommandInfo {
        value: Some("echo real output".into()),
        ..Default::default()
    });
    c.rt.send_from(c.master.upid(), agent.upid(), msg);
    let mut done = false;
    while !done {
        let seen = c.wait_real(|s| !updates_of(s).is_empty());
        for u in updates_of(&seen) {
            c.ack(&agent, &u);
            done |= u.status.state() == v1::TaskState::TaskFinished;
        }
    }
    let seen = c.wait_real(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
    assert!(!seen.is_empty());
    let a = Agent {
        c,
        agent,
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        client: reqwest::Client::new(),
    };
    let stdout = "/frameworks/fw/executors/t1/runs/latest/stdout";
    let r = a.get("/files/read", &[("path", stdout), ("offset", "0")]);
    assert_eq!(r.status, 200);
    assert!(
        r.json()["data"].as_str().unwrap().contains("real output\n"),
        "{}",
        r.json()
    );
    let r = a.get(
        "/files/read",
        &[
            (
                "path",
                "/frameworks/fw/executors/t1/runs/latest/../../../../../../../../meta",
            ),
            ("offset", "0"),
        ],
    );
    assert_eq!(r.status, 400);
    let s: Value = serde_json::from_slice(&a.get("/state", &[]).body).unwrap();
    assert_eq!(
        s["completed_frameworks"][0]["completed_executors"][0]["completed_tasks"][0]["state"],
        "TASK_FINISHED"
    );
}

/// With `--max_completed_executors_per_framework=1`, an ended executor pushed out of
/// the history is no longer served; the newest one still is.
#[test]
fn sandboxes_leave_with_their_executors_history() {
    let mut c = cluster(true);
    let mut flags = c.flags();
    flags.max_completed_executors_per_framework = 1;
    let containerizer = std::sync::Arc::new(mesos_agent::containerizer::MesosContainerizer::new(
        std::sync::Arc::new(c.ops.clone()),
        c.work.path().join("run"),
        Vec::new(),
    ));
    let slave = Slave::new(flags, agent_info(), c.master.upid().clone(), containerizer).unwrap();
    let agent = c.rt.spawn("slave(1)", slave).unwrap();
    c.settle();
    c.advance(Duration::from_secs(1));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let address = c.rt.address();
    let read = |task: &str| -> u16 {
        let url = format!("http://{address}/files/read");
        let path = format!("/frameworks/fw/executors/{task}/runs/latest/stdout");
        rt.block_on(async {
            client
                .get(url)
                .query(&[("path", path.as_str()), ("offset", "0")])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    for task in ["t1", "t2"] {
        c.rt.send_from(c.master.upid(), agent.upid(), run_task_message(task, false));
        c.settle();
        let sandbox = block_on(agent.dispatch({
            let task = task.to_string();
            move |s, _| s.frameworks()["fw"].executors[&task].sandbox.clone()
        }))
        .unwrap();
        std::fs::write(sandbox.join("stdout"), task).unwrap();
        assert_eq!(read(task), 200, "{task} while running");
        let pid = c
            .ops
            .calls()
            .iter()
            .rev()
            .find_map(|call| match call {
                OpCall::Spawn(_, pid) => Some(*pid),
                _ => None,
            })
            .unwrap();
        assert!(c.ops.exit(pid, WaitStatus::Exited(0)));
        c.wait_for(|s| s.iter().any(|x| matches!(x, Seen::Exited(_))));
        assert_eq!(read(task), 200, "{task} after it ended");
    }
    assert_eq!(read("t1"), 404, "t1 left the history");
    assert_eq!(read("t2"), 200);
}
