//! A process to poke with curl.
//!
//! ```sh
//! cargo run -p libprocess --example ping -- 5055
//! curl -i -X POST -H 'Libprocess-From: me@127.0.0.1:1' http://127.0.0.1:5055/pinger/example.Ping
//! ```
//! The answer is `202 Accepted` and the example logs the message. Arguments: the port
//! (default 0, any free port) and optionally `--exit-after N` to stop after N messages.

use bincode::{Decode, Encode};
use libprocess::{
    bincode_message, block_on, Context, Handlers, Process, Response, Routes, Runtime,
};

/// A ping: its body is empty, so curl can send it with no data.
#[derive(Debug, Encode, Decode)]
struct Ping;
bincode_message!(Ping, "example.Ping");

/// A text message (bincode string body).
#[derive(Debug, Encode, Decode)]
struct Text(String);
bincode_message!(Text, "example.Text");

struct Pinger {
    seen: u64,
    exit_after: Option<u64>,
    done: Option<futures::channel::oneshot::Sender<()>>,
}

impl Pinger {
    fn count(&mut self) {
        self.seen += 1;
        if Some(self.seen) == self.exit_after {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
    }
}

impl Process for Pinger {
    fn handlers(h: &mut Handlers<Self>) {
        h.on::<Ping>(|p, ctx, from, _| {
            println!("{} got example.Ping from {from}", ctx.self_pid());
            p.count();
        })
        .on::<Text>(|p, ctx, from, Text(text)| {
            println!("{} got example.Text {text:?} from {from}", ctx.self_pid());
            p.count();
        });
    }

    fn routes(r: &mut Routes<Self>) {
        r.get("stats", |p, _, _| {
            Response::json(&serde_json::json!({ "seen": p.seen }))
        });
    }

    fn initialize(&mut self, ctx: &mut Context<Self>) {
        println!("pinger is {}", ctx.self_pid());
    }
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut args = std::env::args().skip(1);
    let mut port = 0u16;
    let mut exit_after = None;
    while let Some(arg) = args.next() {
        if arg == "--exit-after" {
            exit_after = args.next().and_then(|n| n.parse().ok());
        } else if let Ok(p) = arg.parse() {
            port = p;
        } else {
            eprintln!("usage: ping [PORT] [--exit-after N]");
            std::process::exit(2);
        }
    }
    let rt = Runtime::builder()
        .bind(([127, 0, 0, 1], port).into())
        .start()
        .unwrap_or_else(|e| {
            eprintln!("cannot start: {e}");
            std::process::exit(1);
        });
    let (done, wait) = futures::channel::oneshot::channel();
    let pinger = Pinger {
        seen: 0,
        exit_after,
        done: Some(done),
    };
    if let Err(e) = rt.spawn("pinger", pinger) {
        eprintln!("cannot spawn: {e}");
        std::process::exit(1);
    }
    let addr = rt.address();
    println!("listening on {addr}");
    println!(
        "try: curl -i -X POST -H 'Libprocess-From: me@127.0.0.1:1' http://{addr}/pinger/example.Ping"
    );
    // Without --exit-after the sender half lives in the process forever, so this waits
    // until the program is killed.
    let _ = block_on(wait);
    block_on(rt.shutdown());
}
