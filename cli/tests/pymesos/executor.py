"""A pymesos executor (MesosExecutorDriver, unmodified) launched by the agent from the
ExecutorInfo that cli/tests/pymesos/scheduler.py sends.

Each task: TASK_RUNNING, write the task's data into `<sandbox>/<task id>.out`, a
framework message to the scheduler, then TASK_FINISHED with a message naming the environment the agent gave the executor, so the
scheduler side can check it.
"""

import logging
import os
import sys
import threading
import time

from addict import Dict
from pymesos import Executor, MesosExecutorDriver, decode_data, encode_data


def status(task, state, message=None):
    update = Dict(task_id=Dict(value=task.task_id.value), state=state,
                  timestamp=time.time())
    if message is not None:
        update.message = message
    return update


class FileExecutor(Executor):
    def registered(self, driver, executor_info, framework_info, agent_info):
        print("registered with agent", agent_info.id.value, flush=True)

    def launchTask(self, driver, task):
        def run():
            driver.sendStatusUpdate(status(task, "TASK_RUNNING"))
            try:
                finish()
            except Exception as e:  # the scheduler prints the reason
                driver.sendStatusUpdate(status(task, "TASK_FAILED", repr(e)))

        def finish():
            sandbox = os.environ["MESOS_SANDBOX"]
            path = os.path.join(sandbox, task.task_id.value + ".out")
            with open(path, "wb") as f:
                f.write(decode_data(task.data))
            message = "pymesos executor %s pid %d framework %s wrote %s" % (
                os.environ["MESOS_EXECUTOR_ID"], os.getpid(),
                os.environ["MESOS_FRAMEWORK_ID"], path)
            driver.sendFrameworkMessage(encode_data(
                ("hello from %s" % task.task_id.value).encode("utf-8")))
            driver.sendStatusUpdate(status(task, "TASK_FINISHED", message))

        threading.Thread(target=run, daemon=True).start()

    def killTask(self, driver, task_id):
        driver.sendStatusUpdate(status(Dict(task_id=task_id), "TASK_KILLED"))


def main():
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    MesosExecutorDriver(FileExecutor(), use_addict=True).run()


if __name__ == "__main__":
    main()
