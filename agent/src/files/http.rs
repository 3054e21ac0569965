//! The `/files/*` endpoints over a [`Files`] table: query parsing and Mesos's status
//! codes and bodies. The handlers do file I/O, so the agent runs them off its actor
//! (`Reply::later`).

use std::io::Read;

use bytes::Bytes;
use libprocess::{Request, Response};
use serde_json::{json, Value};

use super::info::browse_entry;
use super::{Files, FilesError};

/// Chunk size of `/files/download` bodies.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

fn text(status: u16, body: impl Into<String>) -> Response {
    Response::status(status)
        .with_body(body.into())
        .with_header("Content-Type", "text/plain; charset=utf-8")
}

/// The error as Mesos answers it.
pub fn error_response(e: &FilesError) -> Response {
    match e {
        // Mesos's `NotFound()`/`Forbidden()` carry no body unless a message was given.
        FilesError::NotFound(_) | FilesError::Unauthorized(_) => Response::status(e.status()),
        other => text(other.status(), other.to_string()),
    }
}

/// `200` with a JSON body, wrapped as `cb(...);` when `?jsonp=cb` is a plain name.
pub fn json_reply(value: &Value, req: &Request) -> Response {
    let body = value.to_string();
    match req.query_param("jsonp") {
        Some(cb)
            if !cb.is_empty()
                && cb
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'$') =>
        {
            Response::ok(format!("{cb}({body});")).with_header("Content-Type", "text/javascript")
        }
        _ => Response::ok(body).with_header("Content-Type", "application/json"),
    }
}

fn path_param(req: &Request) -> Result<String, Response> {
    match req.query_param("path") {
        Some(p) if !p.is_empty() => Ok(p),
        _ => Err(text(400, "Expecting 'path=value' in query.\n")),
    }
}

/// `GET /files/browse?path=...`: the directory's entries.
pub fn browse(files: &Files, req: &Request) -> Response {
    let path = match path_param(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    match files.browse(&path) {
        Ok(list) => json_reply(&Value::Array(list.iter().map(browse_entry).collect()), req),
        Err(e) => error_response(&e),
    }
}

fn parse_signed(req: &Request, key: &str, what: &str) -> Result<Option<i64>, Response> {
    let Some(raw) = req.query_param(key) else {
        return Ok(None);
    };
    let v: i64 = raw.trim().parse().map_err(|_| {
        text(
            400,
            format!("Failed to parse {key}: Failed to convert '{raw}' to number.\n"),
        )
    })?;
    if v < -1 {
        return Err(text(400, format!("Negative {what} provided: {v}.\n")));
    }
    Ok(Some(v))
}

/// `GET /files/read?path=...&offset=N&length=M`: `{"data": ..., "offset": N}`; an
/// absent or `-1` offset reads nothing and answers the file's size as `offset`.
pub fn read(files: &Files, req: &Request) -> Response {
    let path = match path_param(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let offset = match parse_signed(req, "offset", "offset") {
        Ok(o) => o.unwrap_or(-1),
        Err(r) => return r,
    };
    let mut length = match parse_signed(req, "length", "length") {
        Ok(Some(l)) if l > -1 => Some(l as u64),
        Ok(_) => None,
        Err(r) => return r,
    };
    let start = if offset == -1 {
        length = Some(0);
        0
    } else {
        offset as u64
    };
    match files.read(&path, start, length) {
        Ok((size, data)) => {
            let shown = if offset == -1 { size } else { offset as u64 };
            json_reply(
                &json!({"data": String::from_utf8_lossy(&data), "offset": shown}),
                req,
            )
        }
        Err(e) => error_response(&e),
    }
}

/// A few common types by extension, as libprocess's mime table gives them.
fn mime_type(path: &std::path::Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    match ext.as_deref() {
        Some("txt") | Some("log") => "text/plain",
        Some("html") | Some("htm") => "text/html",
        Some("json") => "application/json",
        Some("js") => "application/javascript",
        Some("css") => "text/css",
        Some("gz") => "application/x-gzip",
        Some("tgz") => "application/x-compressed",
        Some("tar") => "application/x-tar",
        Some("zip") => "application/zip",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// `GET /files/download?path=...`: the file as an attachment, streamed in chunks.
pub fn download(files: &Files, req: &Request) -> Response {
    let path = match path_param(req) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let real = match files.download(&path) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    let file = match std::fs::File::open(&real) {
        Ok(f) => f,
        Err(e) => {
            return text(
                500,
                format!("Failed to open file at '{}': {e}", real.display()),
            )
        }
    };
    let basename = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let chunks = futures::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = vec![0u8; DOWNLOAD_CHUNK];
        match file.read(&mut buf) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Bytes::from(buf), Some(file)))
            }
        }
    });
    Response::stream(chunks)
        .with_header("Content-Type", mime_type(&real))
        .with_header(
            "Content-Disposition",
            format!("attachment; filename={basename}"),
        )
}

/// `GET /files/debug`: every attachment, virtual path to real path.
pub fn debug(files: &Files, req: &Request) -> Response {
    let map: serde_json::Map<String, Value> = files
        .attachments()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v.display().to_string())))
        .collect();
    json_reply(&Value::Object(map), req)
}
