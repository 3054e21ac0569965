//! `FileInfo` for a directory entry and its `/files/browse` JSON (`ls -l`-style mode,
//! user and group names).

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;

use mesos_protos::v1;
use serde_json::{json, Value};

const S_IFMT: u32 = 0o170000;

/// The name of `id` in an `/etc/passwd`-style database, or the number as text.
fn name_of(db: &str, id: u32) -> String {
    std::fs::read_to_string(db)
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let _password = fields.next()?;
                let number: u32 = fields.next()?.parse().ok()?;
                (number == id).then(|| name.to_string())
            })
        })
        .unwrap_or_else(|| id.to_string())
}

/// The `FileInfo` Mesos builds from `stat` for a listing entry shown at `path`.
pub fn file_info(path: &str, meta: &Metadata) -> v1::FileInfo {
    v1::FileInfo {
        path: path.to_string(),
        nlink: Some(i32::try_from(meta.nlink()).unwrap_or(i32::MAX)),
        size: Some(meta.size()),
        // Whole seconds, as Mesos (it reads `st_mtime`).
        mtime: Some(v1::TimeInfo {
            nanoseconds: meta.mtime().saturating_mul(1_000_000_000),
        }),
        mode: Some(meta.mode()),
        uid: Some(name_of("/etc/passwd", meta.uid())),
        gid: Some(name_of("/etc/group", meta.gid())),
    }
}

/// `-rwxr-xr-x`-style text of a `st_mode`.
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & S_IFMT {
        0o040000 => 'd',
        0o020000 => 'c',
        0o060000 => 'b',
        0o010000 => 'p',
        0o120000 => 'l',
        0o140000 => 's',
        _ => '-',
    };
    let mut out = String::with_capacity(10);
    out.push(kind);
    for shift in [6u32, 3, 0] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

/// One `/files/browse` entry: `{path, nlink, size, mtime (seconds), mode, uid, gid}`.
pub fn browse_entry(info: &v1::FileInfo) -> Value {
    let mtime = info.mtime.as_ref().map_or(0, |t| t.nanoseconds) as f64 / 1e9;
    json!({
        "path": info.path,
        "nlink": info.nlink.unwrap_or(0),
        "size": info.size.unwrap_or(0),
        "mtime": mtime,
        "mode": mode_string(info.mode.unwrap_or(0)),
        "uid": info.uid.clone().unwrap_or_default(),
        "gid": info.gid.clone().unwrap_or_default(),
    })
}
