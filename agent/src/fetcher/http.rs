//! `http://` and `https://` downloads (reqwest's blocking client, rustls with the
//! webpki roots for https).
//!
//! The fetcher is called from the agent actor's thread, which runs inside an async
//! runtime where a blocking client must not be driven: each download runs on a thread
//! of its own and the caller joins it.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::FetchError;

/// Whether `uri` is fetched over HTTP(S).
pub fn is_http(uri: &str) -> bool {
    let lower = uri.get(..8).unwrap_or(uri).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Downloads `url` into a new file at `dest`; returns the number of bytes written.
/// A non-2xx answer is an error naming the status.
pub fn download(url: &str, dest: &Path, stall_timeout: Duration) -> Result<u64, FetchError> {
    let url_owned = url.to_string();
    let dest = dest.to_path_buf();
    let worker = std::thread::Builder::new()
        .name("fetcher-http".into())
        .spawn(move || get(&url_owned, &dest, stall_timeout))
        .map_err(|source| FetchError::Io {
            uri: url.to_string(),
            source,
        })?;
    worker.join().unwrap_or_else(|_| {
        Err(FetchError::Http {
            uri: url.to_string(),
            reason: "the download thread panicked".into(),
        })
    })
}

fn get(url: &str, dest: &Path, stall_timeout: Duration) -> Result<u64, FetchError> {
    let http = |reason: String| FetchError::Http {
        uri: url.to_string(),
        reason,
    };
    let client = reqwest::blocking::Client::builder()
        // No bound on the whole transfer (large artifacts take long); a connection
        // that makes no progress for the stall timeout fails.
        .timeout(None)
        .connect_timeout(stall_timeout)
        .build()
        .map_err(|e| http(e.to_string()))?;
    let mut response = client.get(url).send().map_err(|e| http(error_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(http(format!("server answered {status}")));
    }
    let mut file = File::create(dest).map_err(|source| FetchError::Io {
        uri: url.to_string(),
        source,
    })?;
    let written = response
        .copy_to(&mut file)
        .map_err(|e| http(error_chain(&e)))?;
    file.flush()
        .and_then(|_| file.sync_all())
        .map_err(|source: io::Error| FetchError::Io {
            uri: url.to_string(),
            source,
        })?;
    Ok(written)
}

/// `e` and its sources, so "error sending request" says why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
