//! `mesos-default-executor`: Mesos's default executor, which the agent starts for
//! `ExecutorInfo.type = DEFAULT` to run task groups. The logic is in
//! [`mesos_agent::default_executor`]; this is its process entry point.

use std::process::ExitCode;

use libprocess::Clock;
use mesos_agent::default_executor::{own_environment, DefaultExecutor};
use mesos_scheduler::executor::{self, Config, ExecutorEnv};

fn main() -> ExitCode {
    // `--launcher_dir` (and other flags the agent passes) need no handling here.
    let env = match ExecutorEnv::from_process_env() {
        Ok(env) => env,
        Err(error) => {
            eprintln!("mesos-default-executor must be started by a Mesos agent: {error}");
            return ExitCode::from(2);
        }
    };
    let sandbox = match env.sandbox.clone().or_else(|| std::env::current_dir().ok()) {
        Some(dir) => dir,
        None => {
            eprintln!("mesos-default-executor: no MESOS_SANDBOX and no working directory");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let clock = Clock::new();
    // Leave a little of the agent's grace period for reporting and exiting.
    let shutdown_grace = env.shutdown_grace_period.mul_f64(0.8);
    let mut executor =
        DefaultExecutor::new(clock.clone(), sandbox, own_environment(), shutdown_grace);
    let config = Config::new(env).with_clock(clock);
    match runtime.block_on(executor::run(config, &mut executor)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("executor driver failed: {error}");
            ExitCode::FAILURE
        }
    }
}
