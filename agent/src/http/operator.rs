//! `POST /api/v1` on the agent: the v1 agent operator API in JSON and protobuf, with
//! Mesos's checks in Mesos's order — method (405), `Content-Type` (400 missing, 415
//! other or a streaming type for a non-streaming call), `Message-Content-Type` on a
//! non-streaming request (415), `Accept` (406), `Message-Accept` on a non-streaming
//! response (406), body (400), validation (400); then the call. `UNKNOWN` and calls this
//! agent does not serve answer `501`.

use mesos_protos::v1;
use mesos_protos::v1::agent::{call, response, Call, Response as AgentResponse};

use super::AgentView;
use crate::files::{Files, FilesError};
use crate::status_update_manager::is_terminal_state;

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";
const RECORDIO: &str = "application/recordio";

/// Largest call body accepted.
pub const MAX_CALL_BYTES: usize = 4 << 20;

/// How the request body is encoded and how the answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaTypes {
    /// The body is protobuf (else JSON).
    pub protobuf_in: bool,
    /// The answer is protobuf (else JSON).
    pub protobuf_out: bool,
}

/// An HTTP-level failure: status and plain-text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The status code.
    pub status: u16,
    /// The body.
    pub message: String,
}

fn fail(status: u16, message: impl Into<String>) -> Failure {
    Failure {
        status,
        message: message.into(),
    }
}

/// True if an `Accept`-style header value admits `media` (absent admits everything;
/// `q=0` refuses; `*/*` and `type/*` match).
pub fn accepts(header: Option<&str>, media: &str) -> bool {
    let Some(header) = header else {
        return true;
    };
    let (kind, _) = media.split_once('/').unwrap_or((media, ""));
    let mut best: Option<(u8, f64)> = None;
    for part in header.split(',') {
        let mut pieces = part.split(';');
        let range = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(1.0);
        let specificity = if range == media {
            3
        } else if range == format!("{kind}/*") {
            2
        } else if range == "*/*" {
            1
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    best.is_some_and(|(_, q)| q > 0.0)
}

/// The header checks, before the body is read.
pub fn negotiate(
    method: &str,
    header: impl Fn(&str) -> Option<String>,
) -> Result<MediaTypes, Failure> {
    if method != "POST" {
        return Err(fail(
            405,
            format!(
                "405 Method Not Allowed. Expecting one of {{ 'POST' }}, but received '{method}'."
            ),
        ));
    }
    let content_type = header("Content-Type")
        .ok_or_else(|| fail(400, "Expecting 'Content-Type' to be present"))?;
    let streaming_in = match content_type.as_str() {
        JSON | PROTOBUF => false,
        RECORDIO => true,
        _ => {
            return Err(fail(
                415,
                format!("Expecting 'Content-Type' of {JSON} or {PROTOBUF} or {RECORDIO}"),
            ))
        }
    };
    if streaming_in {
        // Only ATTACH_CONTAINER_INPUT streams its request, and this agent does not serve it.
        return Err(fail(
            415,
            format!(
                "Streaming 'Content-Type' {RECORDIO} is not supported by this agent for any call"
            ),
        ));
    }
    if header("Message-Content-Type").is_some() {
        return Err(fail(
            415,
            "Expecting 'Message-Content-Type' to be not set for non-streaming requests",
        ));
    }
    let accept = header("Accept");
    let protobuf_out = if accepts(accept.as_deref(), JSON) {
        false
    } else if accepts(accept.as_deref(), PROTOBUF) {
        true
    } else if accepts(accept.as_deref(), RECORDIO) {
        return Err(fail(
            406,
            "Streaming response is not supported for this call",
        ));
    } else {
        return Err(fail(
            406,
            format!("Expecting 'Accept' to allow {JSON} or {PROTOBUF} or {RECORDIO}"),
        ));
    };
    if header("Message-Accept").is_some() {
        return Err(fail(
            406,
            "Expecting 'Message-Accept' to be not set for non-streaming responses",
        ));
    }
    Ok(MediaTypes {
        protobuf_in: content_type == PROTOBUF,
        protobuf_out,
    })
}

/// Decodes and validates the call.
pub fn parse_call(body: &[u8], protobuf: bool) -> Result<Call, Failure> {
    if body.len() > MAX_CALL_BYTES {
        return Err(fail(
            413,
            format!("call body of {} bytes is too large", body.len()),
        ));
    }
    let call: Call = if protobuf {
        mesos_protos::protobuf::decode(body).map_err(|e| fail(400, e.to_string()))?
    } else {
        mesos_protos::json::from_slice(body).map_err(|e| fail(400, e.to_string()))?
    };
    let invalid = |m: &str| fail(400, format!("Failed to validate agent::Call: {m}"));
    let Some(kind) = call.r#type else {
        return Err(invalid("Expecting 'type' to be present"));
    };
    match call::Type::try_from(kind) {
        Ok(call::Type::GetMetrics) if call.get_metrics.is_none() => {
            Err(invalid("Expecting 'get_metrics' to be present"))
        }
        Ok(call::Type::ListFiles) if call.list_files.is_none() => {
            Err(invalid("Expecting 'list_files' to be present"))
        }
        Ok(call::Type::ReadFile) if call.read_file.is_none() => {
            Err(invalid("Expecting 'read_file' to be present"))
        }
        Ok(call::Type::SetLoggingLevel) if call.set_logging_level.is_none() => {
            Err(invalid("Expecting 'set_logging_level' to be present"))
        }
        Ok(_) => Ok(call),
        Err(_) => Err(invalid("Expecting 'type' to be present")),
    }
}

fn response(t: response::Type) -> AgentResponse {
    AgentResponse {
        r#type: Some(t as i32),
        ..Default::default()
    }
}

fn files_failure(e: FilesError) -> Failure {
    fail(e.status(), e.to_string())
}

/// GET_FRAMEWORKS: frameworks with live executors, and completed ones.
pub fn get_frameworks(view: &AgentView<'_>) -> response::GetFrameworks {
    let entry = |info: &v1::FrameworkInfo| response::get_frameworks::Framework {
        framework_info: info.clone(),
    };
    let mut out = response::GetFrameworks::default();
    for (id, f) in view.frameworks {
        if f.executors.is_empty() && view.http.completed.contains_key(id) {
            continue;
        }
        out.frameworks.push(entry(&f.info));
    }
    for (id, c) in &view.http.completed {
        let live = view
            .frameworks
            .get(id)
            .is_some_and(|f| !f.executors.is_empty());
        if !live {
            out.completed_frameworks.push(entry(&c.info));
        }
    }
    out
}

/// GET_EXECUTORS: live executors and completed ones.
pub fn get_executors(view: &AgentView<'_>) -> response::GetExecutors {
    let entry = |info: &v1::ExecutorInfo| response::get_executors::Executor {
        executor_info: info.clone(),
    };
    let mut out = response::GetExecutors::default();
    for f in view.frameworks.values() {
        out.executors
            .extend(f.executors.values().map(|e| entry(&e.info)));
    }
    for c in view.http.completed.values() {
        out.completed_executors
            .extend(c.executors.iter().map(|e| entry(&e.info)));
    }
    out
}

/// GET_TASKS: queued (waiting for their executor), launched, terminated (terminal, the
/// executor still alive) and completed (their executor has ended).
pub fn get_tasks(view: &AgentView<'_>) -> response::GetTasks {
    let mut out = response::GetTasks::default();
    for f in view.frameworks.values() {
        for e in f.executors.values() {
            let queued: Vec<&str> = e.queued.iter().map(|t| t.task_id.value.as_str()).collect();
            for t in e.tasks.values() {
                if queued.contains(&t.task_id.value.as_str()) {
                    out.queued_tasks.push(t.clone());
                } else if is_terminal_state(t.state()) {
                    out.terminated_tasks.push(t.clone());
                } else {
                    out.launched_tasks.push(t.clone());
                }
            }
        }
    }
    for c in view.http.completed.values() {
        for e in &c.executors {
            out.completed_tasks.extend(e.tasks.iter().cloned());
        }
    }
    out
}

/// GET_STATE: tasks, executors and frameworks.
pub fn get_state(view: &AgentView<'_>) -> response::GetState {
    response::GetState {
        get_tasks: Some(get_tasks(view)),
        get_executors: Some(get_executors(view)),
        get_frameworks: Some(get_frameworks(view)),
    }
}

/// GET_CONTAINERS: the live executors' containers with status and usage.
pub fn get_containers(view: &AgentView<'_>) -> response::GetContainers {
    let mut out = response::GetContainers::default();
    for f in view.frameworks.values() {
        for e in f.executors.values() {
            let id = &e.container_id;
            out.containers.push(response::get_containers::Container {
                framework_id: e.info.framework_id.clone(),
                executor_id: Some(e.info.executor_id.clone()),
                executor_name: e.info.name.clone(),
                container_id: v1::ContainerId {
                    value: id.clone(),
                    parent: None,
                },
                container_status: view.containerizer.status(id).ok(),
                resource_statistics: view.containerizer.usage(id).ok(),
            });
        }
    }
    out
}

/// True for the calls that read sandboxes (answered off the actor by [`answer_files`]).
pub fn is_files_call(call: &Call) -> bool {
    matches!(
        call.r#type.and_then(|t| call::Type::try_from(t).ok()),
        Some(call::Type::ListFiles | call::Type::ReadFile)
    )
}

/// Answers LIST_FILES and READ_FILE from the sandbox table.
pub fn answer_files(call: &Call, files: &Files) -> Result<AgentResponse, Failure> {
    use response::Type as R;
    if let Some(l) = &call.list_files {
        let infos = files.browse(&l.path).map_err(files_failure)?;
        return Ok(AgentResponse {
            list_files: Some(response::ListFiles { file_infos: infos }),
            ..response(R::ListFiles)
        });
    }
    let rf = call.read_file.clone().unwrap_or_default();
    let (size, data) = files
        .read(&rf.path, rf.offset, rf.length)
        .map_err(files_failure)?;
    Ok(AgentResponse {
        read_file: Some(response::ReadFile { size, data }),
        ..response(R::ReadFile)
    })
}

/// Answers a validated call; `metrics` is the snapshot GET_METRICS reports.
pub fn answer(
    call: &Call,
    view: &AgentView<'_>,
    metrics: &[(String, f64)],
) -> Result<AgentResponse, Failure> {
    use response::Type as R;
    let kind = call::Type::try_from(call.r#type.unwrap_or(0)).unwrap_or(call::Type::Unknown);
    let r = match kind {
        call::Type::GetHealth => AgentResponse {
            get_health: Some(response::GetHealth { healthy: true }),
            ..response(R::GetHealth)
        },
        call::Type::GetFlags => AgentResponse {
            get_flags: Some(response::GetFlags {
                flags: view
                    .flags
                    .values
                    .iter()
                    .map(|(k, v)| v1::Flag {
                        name: (*k).to_string(),
                        value: Some(v.clone()),
                    })
                    .collect(),
            }),
            ..response(R::GetFlags)
        },
        call::Type::GetVersion => AgentResponse {
            get_version: Some(response::GetVersion {
                version_info: super::version_info(),
            }),
            ..response(R::GetVersion)
        },
        call::Type::GetMetrics => AgentResponse {
            get_metrics: Some(response::GetMetrics {
                metrics: metrics
                    .iter()
                    .map(|(k, v)| v1::Metric {
                        name: k.clone(),
                        value: Some(*v),
                    })
                    .collect(),
            }),
            ..response(R::GetMetrics)
        },
        call::Type::GetState => AgentResponse {
            get_state: Some(get_state(view)),
            ..response(R::GetState)
        },
        call::Type::GetContainers => AgentResponse {
            get_containers: Some(get_containers(view)),
            ..response(R::GetContainers)
        },
        call::Type::GetFrameworks => AgentResponse {
            get_frameworks: Some(get_frameworks(view)),
            ..response(R::GetFrameworks)
        },
        call::Type::GetExecutors => AgentResponse {
            get_executors: Some(get_executors(view)),
            ..response(R::GetExecutors)
        },
        call::Type::GetTasks => AgentResponse {
            get_tasks: Some(get_tasks(view)),
            ..response(R::GetTasks)
        },
        call::Type::GetAgent => AgentResponse {
            get_agent: Some(response::GetAgent {
                agent_info: Some(view.info.clone()),
            }),
            ..response(R::GetAgent)
        },
        call::Type::GetOperations => AgentResponse {
            get_operations: Some(response::GetOperations::default()),
            ..response(R::GetOperations)
        },
        call::Type::GetResourceProviders => AgentResponse {
            get_resource_providers: Some(response::GetResourceProviders::default()),
            ..response(R::GetResourceProviders)
        },
        call::Type::ListFiles | call::Type::ReadFile => answer_files(call, &view.http.files)?,
        call::Type::Unknown => return Err(fail(501, "")),
        other => {
            return Err(fail(
                501,
                format!("{} is not supported by this agent", other.as_str_name()),
            ))
        }
    };
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_matching() {
        assert!(accepts(None, JSON));
        assert!(accepts(Some("*/*"), PROTOBUF));
        assert!(accepts(Some("application/*"), JSON));
        assert!(accepts(Some("text/html, application/json;q=0.5"), JSON));
        assert!(!accepts(Some("application/json;q=0"), JSON));
        assert!(!accepts(Some("*/*, application/json;q=0"), JSON));
        assert!(!accepts(Some("text/plain"), JSON));
        assert!(accepts(Some("application/x-protobuf"), PROTOBUF));
    }

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn negotiation_status_codes() {
        let code = |m: &str, h: &[(&str, &str)]| negotiate(m, headers(h)).map_err(|f| f.status);
        assert_eq!(code("GET", &[]), Err(405));
        assert_eq!(code("POST", &[]), Err(400));
        assert_eq!(
            code(
                "POST",
                &[("Content-Type", "application/json; charset=utf-8")]
            ),
            Err(415)
        );
        assert_eq!(code("POST", &[("Content-Type", "text/plain")]), Err(415));
        assert_eq!(code("POST", &[("Content-Type", RECORDIO)]), Err(415));
        assert_eq!(
            code(
                "POST",
                &[("Content-Type", JSON), ("Message-Content-Type", JSON)]
            ),
            Err(415)
        );
        assert_eq!(
            code("POST", &[("Content-Type", JSON), ("Accept", "text/html")]),
            Err(406)
        );
        assert_eq!(
            code("POST", &[("Content-Type", JSON), ("Accept", RECORDIO)]),
            Err(406)
        );
        assert_eq!(
            code("POST", &[("Content-Type", JSON), ("Message-Accept", JSON)]),
            Err(406)
        );
        assert_eq!(
            negotiate("POST", headers(&[("Content-Type", PROTOBUF)])).unwrap(),
            MediaTypes {
                protobuf_in: true,
                protobuf_out: false
            }
        );
        assert_eq!(
            negotiate(
                "POST",
                headers(&[("Content-Type", JSON), ("Accept", PROTOBUF)])
            )
            .unwrap(),
            MediaTypes {
                protobuf_in: false,
                protobuf_out: true
            }
        );
    }

    #[test]
    fn call_validation() {
        let bad = |body: &str| parse_call(body.as_bytes(), false).unwrap_err();
        assert_eq!(bad("{").status, 400);
        assert!(bad("{}").message.contains("Expecting 'type' to be present"));
        assert!(bad(r#"{"type":"GET_METRICS"}"#)
            .message
            .contains("Expecting 'get_metrics' to be present"));
        assert!(bad(r#"{"type":"READ_FILE"}"#)
            .message
            .contains("'read_file'"));
        assert!(bad(r#"{"type":"LIST_FILES"}"#)
            .message
            .contains("'list_files'"));
        let ok = parse_call(br#"{"type":"GET_METRICS","get_metrics":{}}"#, false).unwrap();
        assert_eq!(ok.r#type, Some(call::Type::GetMetrics as i32));
        let pb = prost::Message::encode_to_vec(&Call {
            r#type: Some(call::Type::GetHealth as i32),
            ..Default::default()
        });
        assert_eq!(
            parse_call(&pb, true).unwrap().r#type,
            Some(call::Type::GetHealth as i32)
        );
    }
}
