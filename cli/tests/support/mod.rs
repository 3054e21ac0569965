//! Running the real `mesos` binary: start it, find its address in the log, plain HTTP
//! GETs, SIGTERM and wait.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

/// How long a test waits for a log line or a command.
pub const WAIT: Duration = Duration::from_secs(60);

/// The binary under test.
pub fn mesos() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mesos"));
    cmd.env("RUST_LOG", "info");
    // Tests never inherit flags from the developer's environment.
    for (k, _) in std::env::vars() {
        if k.starts_with("MESOS_") || k.starts_with("LIBPROCESS_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `mesos args...` to completion.
pub fn run(args: &[&str]) -> Output {
    mesos().args(args).output().expect("running mesos")
}

/// A `mesos` process running in the background, its stderr lines collected.
pub struct Daemon {
    pub child: Child,
    lines: Receiver<String>,
    pub log: Vec<String>,
}

impl Daemon {
    /// Starts `mesos args...` with stdout and stderr lines collected together.
    pub fn start(args: &[&str]) -> Daemon {
        let mut cmd = mesos();
        cmd.args(args);
        Daemon::from_command(cmd)
    }

    /// Starts `cmd` with stdout and stderr lines collected together.
    pub fn from_command(mut cmd: Command) -> Daemon {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning mesos");
        let (tx, rx) = channel();
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().expect("stdout"));
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().expect("stderr"));
        for stream in [out, err] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Daemon {
            child,
            lines: rx,
            log: Vec::new(),
        }
    }

    /// Waits for a log line containing `needle` and returns it.
    pub fn wait_for(&mut self, needle: &str) -> String {
        if let Some(l) = self.log.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no log line with {needle:?} ({e}); log so far:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Waits for the next log line (not already seen) containing `needle`.
    pub fn wait_for_next(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no further log line with {needle:?} ({e}); log so far:\n{}",
                    self.log.join("\n")
                ),
            }
        }
    }

    /// The `ip:port` from the master's "listening on http://..." line.
    pub fn master_address(&mut self) -> String {
        let line = self.wait_for("mesos master listening on http://");
        let rest = line
            .split("listening on http://")
            .nth(1)
            .expect("address after the marker");
        rest.split_whitespace().next().expect("address").to_string()
    }

    /// Sends SIGTERM and waits for the exit; returns whether it exited 0, and the rest
    /// of the log.
    pub fn terminate(mut self) -> (bool, Vec<String>) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM {pid} failed");
        let exit = self.child.wait().expect("wait");
        while let Ok(line) = self.lines.recv_timeout(WAIT) {
            self.log.push(line);
        }
        (exit.success(), std::mem::take(&mut self.log))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` over HTTP/1.0; returns the status code and body.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connecting");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("read");
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Stdout of a finished command as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr of a finished command as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
