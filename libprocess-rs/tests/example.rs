//! Runs `examples/ping.rs` (built by `cargo test` beside the test binaries) and pokes it the
//! way the root README's curl command does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn example_binary() -> PathBuf {
    // target/<profile>/deps/example-<hash> → target/<profile>/examples/ping
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join("ping"))
        .expect("target layout")
}

#[test]
fn the_ping_example_answers_202_and_logs_the_message() {
    let bin = example_binary();
    assert!(
        bin.exists(),
        "{} missing: run through `cargo test`",
        bin.display()
    );
    let mut child = Command::new(&bin)
        .args(["0", "--exit-after", "1"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the example");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    let addr = loop {
        line.clear();
        if out.read_line(&mut line).expect("read stdout") == 0 {
            let _ = child.kill();
            panic!("example exited before printing its address");
        }
        if let Some(addr) = line.trim().strip_prefix("listening on ") {
            break addr.to_string();
        }
    };
    let mut s = TcpStream::connect(&addr).expect("connect");
    s.write_all(
        b"POST /pinger/example.Ping HTTP/1.1\r\nHost: x\r\nLibprocess-From: me@127.0.0.1:1\r\n\
          Content-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    let mut response = String::new();
    let _ = s.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 202"), "{response}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read the log");
    assert!(
        rest.contains("got example.Ping from me@127.0.0.1:1"),
        "example output: {rest}"
    );
    assert!(child.wait().expect("wait").success());
}
