//! `http://` and `https://` URIs against a small HTTP/1.1 server on port 0.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::*;

/// Serves fixed bodies by path (404 for others) and counts requests per path.
struct Server {
    base: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Server {
    fn start(files: Vec<(&'static str, Vec<u8>)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let files: HashMap<&str, Vec<u8>> = files.into_iter().collect();
        let hits = Arc::new(Mutex::new(HashMap::new()));
        let counted = hits.clone();
        // The thread ends with the test process; each connection carries one request.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
                let path = target.split('?').next().unwrap_or("").to_string();
                *counted.lock().unwrap().entry(path.clone()).or_insert(0) += 1;
                let (status, body) = match files.get(path.as_str()) {
                    Some(b) => ("200 OK", b.clone()),
                    None => ("404 Not Found", b"no such file".to_vec()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        Server { base, hits }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.tar.gz");
    super::archives::write_tar_gz(&p, files);
    fs::read(p).unwrap()
}

#[test]
fn http_uris_are_downloaded_named_by_their_path() {
    let s = setup();
    let server = Server::start(vec![
        ("/files/a.txt", b"hello http".to_vec()),
        ("/files/tool.sh", b"#!/bin/sh\necho tool\n".to_vec()),
    ]);
    let mut tool = uri(&server.url("/files/tool.sh"));
    tool.executable = Some(true);
    let mut renamed = uri(&server.url("/files/a.txt"));
    renamed.output_file = Some("conf/renamed.txt".into());
    let got = fetch(
        &[
            uri(&server.url("/files/a.txt?version=3#frag")),
            tool,
            renamed,
        ],
        &s.sandbox,
        None,
        &s.config,
    )
    .unwrap();
    assert_eq!(got[0], s.sandbox.join("a.txt"));
    assert_eq!(fs::read(&got[0]).unwrap(), b"hello http");
    let out = Command::new(&got[1]).output().unwrap();
    assert_eq!(out.stdout, b"tool\n");
    assert_eq!(
        fs::read(s.sandbox.join("conf/renamed.txt")).unwrap(),
        b"hello http"
    );
}

#[test]
fn an_http_archive_is_extracted() {
    let s = setup();
    let server = Server::start(vec![(
        "/pkg/app.tar.gz",
        tar_gz(&[("app/bin/run", b"#!/bin/sh\n"), ("app/README", b"readme")]),
    )]);
    fetch(
        &[uri(&server.url("/pkg/app.tar.gz"))],
        &s.sandbox,
        None,
        &s.config,
    )
    .unwrap();
    assert_eq!(fs::read(s.sandbox.join("app/README")).unwrap(), b"readme");
    assert!(s.sandbox.join("app.tar.gz").is_file());
}

#[test]
fn cached_http_uris_are_downloaded_once() {
    let s = setup();
    let server = Server::start(vec![("/big.bin", vec![7u8; 4096])]);
    let mut u = uri(&server.url("/big.bin"));
    u.cache = Some(true);
    for i in 0..3 {
        let sandbox = another_sandbox(&s, &format!("run-{i}"));
        fetch(std::slice::from_ref(&u), &sandbox, None, &s.config).unwrap();
        assert_eq!(fs::read(sandbox.join("big.bin")).unwrap(), vec![7u8; 4096]);
    }
    assert_eq!(server.hits("/big.bin"), 1);
    // Without `cache` every fetch downloads.
    u.cache = None;
    fetch(&[u], &another_sandbox(&s, "uncached"), None, &s.config).unwrap();
    assert_eq!(server.hits("/big.bin"), 2);
}

#[test]
fn http_errors_name_the_uri_and_the_status() {
    let s = setup();
    let server = Server::start(vec![]);
    let missing = server.url("/nope.txt");
    let e = fetch(&[uri(&missing)], &s.sandbox, None, &s.config).unwrap_err();
    assert!(matches!(e, FetchError::Http { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains(&missing) && text.contains("404"), "{text}");
    // A failed cached download leaves no entry and no staging file.
    let mut cached = uri(&missing);
    cached.cache = Some(true);
    assert!(fetch(&[cached], &s.sandbox, None, &s.config).is_err());
    let leftovers = fs::read_dir(&s.config.cache_dir)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0);

    // Nothing listens on a port we just freed: a connection error naming the uri.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("http://127.0.0.1:{port}/x");
    let e = fetch(&[uri(&closed)], &s.sandbox, None, &s.config).unwrap_err();
    assert!(e.to_string().contains(&closed), "{e}");

    // https goes through TLS: a plain-HTTP server fails the handshake.
    let tls = server.url("/a.txt").replacen("http://", "https://", 1);
    let e = fetch(&[uri(&tls)], &s.sandbox, None, &s.config).unwrap_err();
    assert!(matches!(e, FetchError::Http { .. }), "{e}");
    assert!(e.to_string().contains(&tls), "{e}");

    // A URL without a file name needs output_file.
    let e = fetch(&[uri(&server.base)], &s.sandbox, None, &s.config).unwrap_err();
    assert!(matches!(e, FetchError::Invalid { .. }), "{e}");
}

#[test]
fn background_fetch_leaves_the_caller_free_until_awaited() {
    let s = setup();
    let server = Server::start(vec![("/one.txt", b"one".to_vec())]);
    let fut = fetch_in_background(
        vec![uri(&server.url("/one.txt"))],
        s.sandbox.clone(),
        None,
        s.config.clone(),
    );
    let got = futures::executor::block_on(fut).unwrap();
    assert_eq!(got, vec![s.sandbox.join("one.txt")]);
    assert_eq!(fs::read(&got[0]).unwrap(), b"one");
    let e = futures::executor::block_on(fetch_in_background(
        vec![uri(&server.url("/missing"))],
        s.sandbox.clone(),
        None,
        s.config.clone(),
    ))
    .unwrap_err();
    assert!(e.to_string().contains("404"), "{e}");
}
