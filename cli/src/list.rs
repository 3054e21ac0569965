//! `mesos task list`, `mesos agent list`, `mesos framework list`: one `GET /state` from
//! the master (Mesos's legacy JSON, so real Mesos masters answer it too), printed as
//! aligned tables.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use crate::args::Args;
use crate::table::Table;
use crate::Env;

/// The default master address of the client commands.
pub const DEFAULT_MASTER: &str = "127.0.0.1:5050";

/// How long a client waits for the master's answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `task list`.
    Tasks,
    /// `agent list`.
    Agents,
    /// `framework list`.
    Frameworks,
}

/// Errors talking to a master or agent over HTTP.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No TCP connection or no answer.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// What was asked.
        url: String,
        /// The innermost cause.
        reason: String,
    },
    /// An answer other than 200.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// What was asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The body (Mesos puts its error text there).
        body: String,
    },
    /// A 200 whose body is not JSON.
    #[error("{url} answered with invalid JSON: {reason}")]
    Json {
        /// What was asked.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
}

/// `http://host:port` from `host:port`, `http(s)://host:port[/]` or `master@host:port`.
pub fn base_url(master: &str) -> String {
    let m = master.trim().trim_end_matches('/');
    if m.starts_with("http://") || m.starts_with("https://") {
        return m.to_string();
    }
    let m = m.split_once('@').map(|(_, a)| a).unwrap_or(m);
    format!("http://{m}")
}

fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// GETs `url` and parses the JSON body.
pub async fn get_json(url: &str) -> Result<Value, ClientError> {
    let unreachable = |e: reqwest::Error| ClientError::Unreachable {
        url: url.to_string(),
        reason: innermost(&e),
    };
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(unreachable)?;
    let resp = client.get(url).send().await.map_err(unreachable)?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(unreachable)?;
    if status != 200 {
        return Err(ClientError::Status {
            url: url.to_string(),
            status,
            body: String::from_utf8_lossy(&body).trim().to_string(),
        });
    }
    serde_json::from_slice(&body).map_err(|e| ClientError::Json {
        url: url.to_string(),
        reason: e.to_string(),
    })
}

/// Checks that something answers HTTP at `url` (any status will do).
pub async fn check_reachable(url: &str) -> Result<(), ClientError> {
    let unreachable = |e: reqwest::Error| ClientError::Unreachable {
        url: url.to_string(),
        reason: innermost(&e),
    };
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(unreachable)?;
    client.get(url).send().await.map_err(unreachable)?;
    Ok(())
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A number without a needless fraction (`0.1`, `32`, `1024.5`).
pub fn number(x: f64) -> String {
    let rounded = (x * 100.0).round() / 100.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

fn scalar(resources: Option<&Value>, name: &str) -> f64 {
    resources
        .and_then(|r| r.get(name))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

/// `cpus mem disk` of a legacy resources object, e.g. `0.1 cpus, 32 MB mem`.
fn resource_cells(resources: Option<&Value>) -> [String; 3] {
    [
        number(scalar(resources, "cpus")),
        format!("{} MB", number(scalar(resources, "mem"))),
        format!("{} MB", number(scalar(resources, "disk"))),
    ]
}

fn used_of_total(used: Option<&Value>, total: Option<&Value>, name: &str, unit: &str) -> String {
    format!(
        "{}/{}{unit}",
        number(scalar(used, name)),
        number(scalar(total, name))
    )
}

fn array<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The task table from a master's `/state` (completed tasks too with `all`).
pub fn tasks_table(state: &Value, all: bool) -> Table {
    let hosts: std::collections::HashMap<String, String> = array(state, "slaves")
        .iter()
        .map(|s| (text(s, "id"), text(s, "hostname")))
        .collect();
    let mut t = Table::new(&[
        "ID",
        "NAME",
        "STATE",
        "FRAMEWORK",
        "AGENT",
        "HOST",
        "CPUS",
        "MEM",
        "DISK",
    ]);
    let frameworks = array(state, "frameworks").iter().chain(if all {
        array(state, "completed_frameworks")
    } else {
        &[]
    });
    for fw in frameworks {
        let mut tasks: Vec<&Value> = array(fw, "tasks").iter().collect();
        if all {
            tasks.extend(array(fw, "completed_tasks"));
        }
        for task in tasks {
            let agent = text(task, "slave_id");
            let [cpus, mem, disk] = resource_cells(task.get("resources"));
            t.row(vec![
                text(task, "id"),
                text(task, "name"),
                text(task, "state"),
                text(task, "framework_id"),
                agent.clone(),
                hosts.get(&agent).cloned().unwrap_or_default(),
                cpus,
                mem,
                disk,
            ]);
        }
    }
    t
}

/// The agent table from a master's `/state`.
pub fn agents_table(state: &Value) -> Table {
    let mut t = Table::new(&[
        "ID", "HOSTNAME", "PID", "ACTIVE", "CPUS", "MEM", "DISK", "PORTS",
    ]);
    for s in array(state, "slaves") {
        let (used, total) = (s.get("used_resources"), s.get("resources"));
        t.row(vec![
            text(s, "id"),
            text(s, "hostname"),
            text(s, "pid"),
            text(s, "active"),
            used_of_total(used, total, "cpus", ""),
            used_of_total(used, total, "mem", " MB"),
            used_of_total(used, total, "disk", " MB"),
            total
                .and_then(|r| r.get("ports"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
        ]);
    }
    t
}

/// Why each framework got no offer in the allocator's last cycle, from a master's
/// `/roles` (our `no_offer_reasons` extension): framework id → (role, reason) pairs.
pub fn no_offer_reasons(
    roles: &Value,
) -> std::collections::BTreeMap<String, Vec<(String, String)>> {
    let mut out: std::collections::BTreeMap<String, Vec<(String, String)>> = Default::default();
    for role in array(roles, "roles") {
        let name = text(role, "name");
        for r in array(role, "no_offer_reasons") {
            out.entry(text(r, "framework_id"))
                .or_default()
                .push((name.clone(), text(r, "reason")));
        }
    }
    out
}

fn reason_cell(reasons: Option<&Vec<(String, String)>>) -> String {
    match reasons.map(Vec::as_slice) {
        None | Some([]) => "-".to_string(),
        Some([(_, why)]) => why.clone(),
        Some(list) => list
            .iter()
            .map(|(role, why)| format!("{role}:{why}"))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// The framework table from a master's `/state` (completed ones too with `all`); with the
/// master's `/roles`, a NO OFFER column says why a framework got nothing last cycle.
pub fn frameworks_table(state: &Value, roles: Option<&Value>, all: bool) -> Table {
    let mut t = Table::new(&[
        "ID", "NAME", "USER", "ROLE", "ACTIVE", "TASKS", "CPUS", "MEM", "DISK", "NO OFFER",
    ]);
    let reasons = roles.map(no_offer_reasons).unwrap_or_default();
    let completed = if all {
        array(state, "completed_frameworks")
    } else {
        &[]
    };
    for fw in array(state, "frameworks").iter().chain(completed) {
        let [cpus, mem, disk] = resource_cells(fw.get("used_resources"));
        let why = reason_cell(reasons.get(&text(fw, "id")));
        t.row(vec![
            text(fw, "id"),
            text(fw, "name"),
            text(fw, "user"),
            text(fw, "role"),
            text(fw, "active"),
            array(fw, "tasks").len().to_string(),
            cpus,
            mem,
            disk,
            why,
        ]);
    }
    t
}

/// Fetches a master's `/state`.
pub async fn master_state(master: &str) -> Result<Value, ClientError> {
    get_json(&format!("{}/state", base_url(master))).await
}

fn usage(kind: Kind) -> String {
    let (name, all) = match kind {
        Kind::Tasks => ("task", " [--all]"),
        Kind::Agents => ("agent", ""),
        Kind::Frameworks => ("framework", " [--all]"),
    };
    format!(
        "Usage: mesos {name} list [--master=host:port]{all}\n\n  \
         --master  the master to ask (default {DEFAULT_MASTER})\n  \
         --all     include completed ones too"
    )
}

/// `mesos {task,agent,framework} list`.
pub fn main(kind: Kind, words: &[&str], _env: &Env) -> ExitCode {
    let switches: &[&str] = if kind == Kind::Agents { &[] } else { &["all"] };
    let args = match Args::parse(words, &["master"], switches) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("mesos: {e}\n\n{}", usage(kind));
            return ExitCode::from(2);
        }
    };
    if args.help {
        println!("{}", usage(kind));
        return ExitCode::SUCCESS;
    }
    let master = args.get("master").unwrap_or(DEFAULT_MASTER).to_string();
    let rt = match crate::master::tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mesos: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let state = match rt.block_on(master_state(&master)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mesos: {e}\n(is a master running there? pass --master=host:port)");
            return ExitCode::FAILURE;
        }
    };
    let all = args.switch("all");
    let table = match kind {
        Kind::Tasks => tasks_table(&state, all),
        Kind::Agents => agents_table(&state),
        Kind::Frameworks => {
            // An older master without `/roles` reasons still gets its table.
            let roles = rt
                .block_on(get_json(&format!("{}/roles", base_url(&master))))
                .ok();
            frameworks_table(&state, roles.as_ref(), all)
        }
    };
    print!("{}", table.render());
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state() -> Value {
        json!({
            "slaves": [{
                "id": "a1", "hostname": "h1", "pid": "slave(1)@10.0.0.1:5051", "active": true,
                "resources": {"cpus": 4.0, "mem": 1024.0, "disk": 2048.0, "ports": "[31000-32000]"},
                "used_resources": {"cpus": 0.1, "mem": 32.0, "disk": 0.0}
            }],
            "frameworks": [{
                "id": "f1", "name": "fw", "user": "root", "role": "*", "active": true,
                "used_resources": {"cpus": 0.1, "mem": 32.0, "disk": 0.0},
                "tasks": [{"id": "t1", "name": "sleep", "framework_id": "f1", "slave_id": "a1",
                           "state": "TASK_RUNNING", "resources": {"cpus": 0.1, "mem": 32.0}}],
                "completed_tasks": [{"id": "t0", "name": "echo", "framework_id": "f1",
                                     "slave_id": "a1", "state": "TASK_FINISHED"}]
            }],
            "completed_frameworks": [{"id": "f0", "name": "old", "user": "u", "role": "r",
                                      "active": false, "tasks": []}]
        })
    }

    #[test]
    fn tasks_join_hosts_and_hide_completed_unless_all() {
        let s = state();
        let t = tasks_table(&s, false).render();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2, "{t}");
        assert!(lines[0].starts_with("ID  NAME   STATE"), "{t}");
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "t1",
                "sleep",
                "TASK_RUNNING",
                "f1",
                "a1",
                "h1",
                "0.1",
                "32",
                "MB",
                "0",
                "MB"
            ]
        );
        let all = tasks_table(&s, true).render();
        assert!(all.contains("TASK_FINISHED"), "{all}");
    }

    #[test]
    fn agents_show_used_of_total() {
        let t = agents_table(&state()).render();
        let row: Vec<&str> = t.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            row,
            [
                "a1",
                "h1",
                "slave(1)@10.0.0.1:5051",
                "true",
                "0.1/4",
                "32/1024",
                "MB",
                "0/2048",
                "MB",
                "[31000-32000]"
            ]
        );
    }

    #[test]
    fn frameworks_count_tasks() {
        let t = frameworks_table(&state(), None, false).render();
        assert_eq!(t.lines().count(), 2, "{t}");
        let row: Vec<&str> = t.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(&row[..6], ["f1", "fw", "root", "*", "true", "1"]);
        assert_eq!(row.last(), Some(&"-"));
        assert_eq!(
            frameworks_table(&state(), None, true)
                .render()
                .lines()
                .count(),
            3
        );
    }

    #[test]
    fn master_addresses_become_urls() {
        assert_eq!(base_url("h:5050"), "http://h:5050");
        assert_eq!(base_url("master@h:5050"), "http://h:5050");
        assert_eq!(base_url("http://h:5050/"), "http://h:5050");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(32.0), "32");
    }

    #[test]
    fn frameworks_show_why_they_got_no_offer() {
        let roles = json!({"roles": [
            {"name": "*", "weight": 1.0, "frameworks": ["f1"],
             "no_offer_reason": "suppressed",
             "no_offer_reasons": [{"framework_id": "f1", "reason": "suppressed"}]},
            {"name": "b", "weight": 1.0, "frameworks": ["f2"]}
        ]});
        let t = frameworks_table(&state(), Some(&roles), false).render();
        let header: Vec<&str> = t
            .lines()
            .next()
            .unwrap()
            .split("  ")
            .filter(|c| !c.is_empty())
            .collect();
        assert_eq!(header.last().map(|h| h.trim()), Some("NO OFFER"));
        let row: Vec<&str> = t.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row[0], "f1");
        assert_eq!(row.last(), Some(&"suppressed"));
        let mut multi = no_offer_reasons(&roles);
        multi
            .get_mut("f1")
            .unwrap()
            .push(("b".into(), "filtered".into()));
        assert_eq!(reason_cell(multi.get("f1")), "*:suppressed,b:filtered");
        assert_eq!(reason_cell(multi.get("f9")), "-");
    }

    #[test]
    fn framework_list_shows_the_reason_a_real_master_reports() {
        use mesos_integration::agent::AgentConfig;
        use mesos_integration::cluster::Cluster;
        use std::io::{Read, Write};

        let mut c = Cluster::builder()
            .paused(true)
            .agents(1, AgentConfig::default())
            .start()
            .expect("cluster");
        let addr = c.master_address();
        // A framework that subscribes with its only role suppressed.
        let body = json!({"type": "SUBSCRIBE", "subscribe": {
            "framework_info": {"user": "root", "name": "quiet", "roles": ["quiet"],
                "capabilities": [{"type": "MULTI_ROLE"}]},
            "suppressed_roles": ["quiet"]}})
        .to_string();
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        write!(
            stream,
            "POST /api/v1/scheduler HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Accept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&seen).contains("SUBSCRIBED") {
            let n = stream.read(&mut buf).expect("subscription stream");
            assert!(n > 0, "stream closed: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        c.advance(std::time::Duration::from_secs(1), std::time::Duration::ZERO);

        let rt = crate::master::tokio_runtime().unwrap();
        let url = base_url(&addr.to_string());
        let state = rt.block_on(get_json(&format!("{url}/state"))).unwrap();
        let roles = rt.block_on(get_json(&format!("{url}/roles"))).unwrap();
        let t = frameworks_table(&state, Some(&roles), false).render();
        let row = t
            .lines()
            .find(|l| l.contains("quiet"))
            .unwrap_or_else(|| panic!("no framework row: {t}"));
        assert_eq!(row.split_whitespace().last(), Some("suppressed"), "{t}");
        drop(stream);
        c.shutdown();
    }
}
