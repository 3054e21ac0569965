"""A pymesos scheduler run by cli/tests/pymesos.rs against `mesos local`.

usage: scheduler.py MASTER TASKS [EXECUTOR_COMMAND]

Without EXECUTOR_COMMAND every task is a command task (`echo`) run by the agent's
command executor; with it, every task names one custom executor (ExecutorInfo whose
command is EXECUTOR_COMMAND) that pymesos's MesosExecutorDriver implements. With
PYMESOS_TEST_KILL=1 the command tasks sleep and are killed (KILL) once RUNNING. With
PYMESOS_TEST_EXECUTOR_URI set, the ExecutorInfo's command fetches that URI into the
sandbox first.

Prints one line per event the test checks (REGISTERED, LAUNCH, UPDATE, MESSAGE, DONE)
and exits 0 when every task reached the expected state (TASK_FINISHED, or TASK_KILLED
when killing), 1 when one ended otherwise, 3 on its own timeout.
"""

import logging
import os
import sys
import threading

from addict import Dict
from pymesos import MesosSchedulerDriver, Scheduler, decode_data, encode_data

TASK_CPUS = 0.1
TASK_MEM = 32.0
EXECUTOR_CPUS = 0.1
EXECUTOR_MEM = 32.0
TERMINAL = {"TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST",
            "TASK_ERROR", "TASK_DROPPED", "TASK_GONE"}


def say(*words):
    print(*words, flush=True)


def scalar(name, value):
    return Dict(name=name, type="SCALAR", scalar=Dict(value=value))


def offered(offer, name):
    return sum(r.scalar.value for r in offer.resources
               if r.name == name and r.type == "SCALAR")


class BatchScheduler(Scheduler):
    def __init__(self, tasks, executor_command, kill):
        self.total = tasks
        self.kill = kill
        self.goal = "TASK_KILLED" if kill else "TASK_FINISHED"
        self.executor_command = executor_command
        self.launched = 0
        self.states = {}
        self.outcome = None
        self.lock = threading.Lock()

    def registered(self, driver, framework_id, master_info):
        self.framework_id = framework_id.value
        say("REGISTERED", framework_id.value)

    def executor_info(self):
        command = Dict(value=self.executor_command, shell=True)
        uri = os.environ.get("PYMESOS_TEST_EXECUTOR_URI")
        if uri:
            command.uris = [Dict(value=uri, executable=False, extract=False)]
        return Dict(
            executor_id=Dict(value="pymesos-executor"),
            name="pymesos test executor",
            command=command,
            resources=[scalar("cpus", EXECUTOR_CPUS),
                       scalar("mem", EXECUTOR_MEM)],
        )

    def resourceOffers(self, driver, offers):
        for offer in offers:
            with self.lock:
                cpus = offered(offer, "cpus")
                mem = offered(offer, "mem")
                if self.executor_command and self.launched == 0:
                    cpus -= EXECUTOR_CPUS
                    mem -= EXECUTOR_MEM
                tasks = []
                while (self.launched < self.total and cpus >= TASK_CPUS
                       and mem >= TASK_MEM):
                    # Once the custom executor runs, all its tasks must go to its agent.
                    if (self.executor_command and self.launched > 0
                            and offer.agent_id.value != self.executor_agent):
                        break
                    name = "task-%d" % self.launched
                    task = Dict(
                        task_id=Dict(value=name),
                        agent_id=Dict(value=offer.agent_id.value),
                        name=name,
                        resources=[scalar("cpus", TASK_CPUS),
                                   scalar("mem", TASK_MEM)],
                    )
                    if self.executor_command:
                        self.executor_agent = offer.agent_id.value
                        task.executor = self.executor_info()
                        task.data = encode_data(
                            ("payload of %s" % name).encode("utf-8"))
                    elif self.kill:
                        task.command = Dict(value="sleep 600", shell=True)
                    else:
                        task.command = Dict(
                            value="echo pymesos-command-task %s" % name,
                            shell=True)
                    tasks.append(task)
                    self.launched += 1
                    cpus -= TASK_CPUS
                    mem -= TASK_MEM
            if tasks:
                say("LAUNCH", " ".join(t.task_id.value for t in tasks),
                    "on", offer.agent_id.value)
                driver.launchTasks(offer.id, tasks)
            else:
                driver.declineOffer(offer.id, Dict(refuse_seconds=60))

    def statusUpdate(self, driver, update):
        task = update.task_id.value
        state = update.state
        say("UPDATE", task, state, "message=%s" % (update.message or ""),
            "source=%s" % (update.source or ""))
        if self.kill and state == "TASK_RUNNING":
            say("KILL", task)
            driver.killTask(Dict(value=task))
        with self.lock:
            self.states[task] = state
            if state in TERMINAL and state != self.goal:
                self.outcome = 1
            elif (sum(1 for s in self.states.values() if s == self.goal)
                  == self.total):
                self.outcome = 0
            else:
                return
        say("DONE", "finished" if self.outcome == 0 else "failed")
        driver.stop()

    def frameworkMessage(self, driver, executor_id, agent_id, data):
        say("MESSAGE", executor_id.value, agent_id.value,
            decode_data(data).decode("utf-8"))

    def error(self, driver, message):
        say("ERROR", message)
        with self.lock:
            self.outcome = 1
        driver.stop()


def main():
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    master, tasks = sys.argv[1], int(sys.argv[2])
    executor_command = sys.argv[3] if len(sys.argv) > 3 else None

    def give_up():
        say("TIMEOUT")
        os._exit(3)

    watchdog = threading.Timer(float(os.environ.get("PYMESOS_TEST_TIMEOUT", "90")),
                               give_up)
    watchdog.daemon = True
    watchdog.start()

    kill = os.environ.get("PYMESOS_TEST_KILL") == "1"
    sched = BatchScheduler(tasks, executor_command, kill)
    framework = Dict(user="", name="pymesos-compat-test", hostname="localhost")
    driver = MesosSchedulerDriver(sched, framework, master, use_addict=True)
    driver.run()
    sys.exit(0 if sched.outcome == 0 else 1)


if __name__ == "__main__":
    main()
