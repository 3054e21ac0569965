#!/usr/bin/env bash
# The main job: builds the `mesos` binary and the command executor, starts a local cluster
# (a master and two agents in one process, in a fresh temporary folder), runs a batch of
# real shell tasks on it with `mesos execute` (progress and results printed), lists the
# tasks, shows one task's output from its sandbox, and stops the cluster.
#
#   scripts/demo.sh [TASKS]        # default 20 tasks
#
# Environment: PORT (master port, default 0 = any free port), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

TASKS=${1:-20}
PORT=${PORT:-0}

echo "== building mesos and mesos-executor"
cargo build -p mesos-cli -p mesos-agent --bins
BIN=$(cd "${CARGO_TARGET_DIR:-target}/debug" && pwd)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mesos-demo-XXXXXX")
echo "== starting a local cluster in $WORK"
"$BIN/mesos" local --num_slaves=2 --port="$PORT" --work_dir="$WORK" \
    --allocation_interval=100ms --launcher_dir="$BIN" >"$WORK/local.log" 2>&1 &
LOCAL=$!
trap 'kill -TERM $LOCAL 2>/dev/null; wait $LOCAL 2>/dev/null || true' EXIT

for _ in $(seq 1 300); do
    grep -q "local cluster: master at" "$WORK/local.log" && break
    kill -0 $LOCAL 2>/dev/null || { cat "$WORK/local.log"; exit 1; }
    sleep 0.1
done
MASTER=$(grep -o 'mesos master listening on http://[^ ]*' "$WORK/local.log" | sed 's|.*http://||')
echo "master: http://$MASTER (log: $WORK/local.log)"
for _ in $(seq 1 100); do
    [ "$(grep -c 'registered with master' "$WORK/local.log")" -ge 2 ] && break
    sleep 0.1
done
"$BIN/mesos" agent list --master="$MASTER"

echo "== running $TASKS tasks"
"$BIN/mesos" execute --master="$MASTER" --name=demo --instances="$TASKS" \
    --command='echo "hello from pid $$ on $(hostname)"; sleep 1; echo "done at $(date +%T)"'

echo "== tasks"
"$BIN/mesos" task list --master="$MASTER" --all

echo "== output of one task"
for STDOUT in "$WORK"/agents/*/slaves/*/frameworks/*/executors/demo-0/runs/latest/stdout; do
    echo "$STDOUT"
    cat "$STDOUT"
done
