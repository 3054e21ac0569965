//! Task state bookkeeping and the compact progress line for many instances.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use mesos_scheduler::v1::TaskState;

use super::{is_terminal, Outcome};

/// The latest state of each task and how to show the totals.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    launched: usize,
    states: HashMap<String, TaskState>,
    running_seen: HashSet<String>,
    tty: bool,
    line_open: bool,
    last_done_shown: Option<usize>,
}

impl Progress {
    /// `total` tasks; `tty` redraws one line in place instead of printing steps.
    pub fn new(total: usize, tty: bool) -> Progress {
        Progress {
            total,
            launched: 0,
            states: HashMap::new(),
            running_seen: HashSet::new(),
            tty,
            line_open: false,
            last_done_shown: None,
        }
    }

    /// `n` more tasks were sent to agents.
    pub fn launched(&mut self, n: usize) {
        self.launched += n;
    }

    /// Records `state` for `task`; false if nothing changed (a repeated update) or the
    /// task had already ended.
    pub fn update(&mut self, task: &str, state: TaskState) -> bool {
        if state == TaskState::TaskRunning {
            self.running_seen.insert(task.to_string());
        }
        match self.states.get(task) {
            Some(old) if *old == state || is_terminal(*old) => false,
            _ => {
                self.states.insert(task.to_string(), state);
                true
            }
        }
    }

    /// Whether `task` was seen running.
    pub fn saw_running(&self, task: &str) -> bool {
        self.running_seen.contains(task)
    }

    fn count(&self, pred: impl Fn(TaskState) -> bool) -> usize {
        self.states.values().filter(|s| pred(**s)).count()
    }

    fn done(&self) -> usize {
        self.count(is_terminal)
    }

    /// Every task has ended.
    pub fn all_done(&self) -> bool {
        self.done() >= self.total
    }

    /// The progress text, e.g. `[ 37/100 done] finished 35, failed 2, running 10, ...`.
    pub fn summary(&self) -> String {
        let finished = self.count(|s| s == TaskState::TaskFinished);
        let running = self.count(|s| s == TaskState::TaskRunning);
        let failed = self.done() - finished;
        let waiting = self.total.saturating_sub(self.states.len());
        format!(
            "[{:>w$}/{} done] finished {finished}, failed {failed}, running {running}, \
             launched {}, not started {waiting}",
            self.done(),
            self.total,
            self.launched,
            w = self.total.to_string().len()
        )
    }

    /// Prints a line above the progress line.
    pub fn println(&mut self, line: &str) {
        if self.line_open {
            print!("\r\x1b[K");
            self.line_open = false;
        }
        println!("{line}");
    }

    /// Shows the progress: redrawn in place on a terminal, else a line per tenth done.
    pub fn draw(&mut self) {
        let done = self.done();
        if self.tty {
            print!("\r\x1b[K{}", self.summary());
            let _ = std::io::stdout().flush();
            self.line_open = true;
            return;
        }
        let step = (self.total / 10).max(1);
        let due = match self.last_done_shown {
            None => true,
            Some(last) => done >= last + step || (done == self.total && last != done),
        };
        if due {
            println!("{}", self.summary());
            self.last_done_shown = Some(done);
        }
    }

    /// Ends an open progress line.
    pub fn finish(&mut self) {
        if self.line_open {
            println!();
            self.line_open = false;
        }
    }

    /// Finished tasks and the others with their final state.
    pub fn outcome(&self) -> Outcome {
        let mut failed: Vec<(String, String)> = self
            .states
            .iter()
            .filter(|(_, s)| **s != TaskState::TaskFinished)
            .map(|(t, s)| (t.clone(), s.as_str_name().to_string()))
            .collect();
        failed.sort();
        let missing = self.total.saturating_sub(self.states.len());
        for i in 0..missing {
            failed.push((format!("(not started #{i})"), "NOT_LAUNCHED".into()));
        }
        Outcome {
            finished: self.count(|s| s == TaskState::TaskFinished),
            failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_outcome() {
        let mut p = Progress::new(3, false);
        p.launched(3);
        assert!(p.update("a", TaskState::TaskRunning));
        assert!(!p.update("a", TaskState::TaskRunning));
        assert!(p.update("a", TaskState::TaskFinished));
        assert!(
            !p.update("a", TaskState::TaskFailed),
            "terminal states are final"
        );
        assert!(p.update("b", TaskState::TaskFailed));
        assert!(!p.all_done());
        assert_eq!(
            p.summary(),
            "[2/3 done] finished 1, failed 1, running 0, launched 3, not started 1"
        );
        assert!(p.update("c", TaskState::TaskFinished));
        assert!(p.all_done());
        assert!(p.saw_running("a") && !p.saw_running("c"));
        let o = p.outcome();
        assert_eq!(o.finished, 2);
        assert_eq!(o.failed, vec![("b".to_string(), "TASK_FAILED".to_string())]);
    }
}
