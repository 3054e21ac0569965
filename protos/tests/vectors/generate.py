#!/usr/bin/env python3
"""Generates independent protobuf vectors for `tests/protobuf_vectors.rs`.

NOT run in CI: the vectors it wrote are checked in as `mesos_interface_v0.json`.
It encodes messages with Mesos's own compiled v0 types (`mesos_pb2` from the PyPI
package `mesos.interface`), so our prost encoder/decoder is checked against bytes we
did not produce. v0 and v1 share field numbers; v0 spells `agent_id` as `slave_id`.

Re-generate (throwaway virtualenv):

    python3 -m venv /tmp/mesosvec
    /tmp/mesosvec/bin/pip install 'mesos.interface==1.7.2'   # pulls protobuf 3.20.x
    /tmp/mesosvec/bin/python protos/tests/vectors/generate.py > protos/tests/vectors/mesos_interface_v0.json

Each vector holds the v1 type name, the message in Mesos's v1 JSON (with the
defaulted fields Mesos prints), and the hex of the v0 encoding of the same message.
"""

import copy
import json
import sys

import google.protobuf
from google.protobuf import json_format
from google.protobuf.internal import api_implementation
from mesos.interface import mesos_pb2

# v1 field name -> v0 field name, where they differ (numbers are equal).
V1_TO_V0 = {"agent_id": "slave_id"}
# v1 enum value names -> v0 names, where they differ (numbers are equal).
V1_TO_V0_ENUM = {"SOURCE_AGENT": "SOURCE_SLAVE"}

UUID_B64 = "3q2+7wAAQACAAAAAAAAAAQ=="

VECTORS = [
    ("framework_info", "FrameworkInfo", "mesos.v1.FrameworkInfo", {
        "user": "root",
        "name": "vector-fw",
        "id": {"value": "20261125-000000-16777343-5050-1-0000"},
        "failover_timeout": 3600.5,
        "checkpoint": True,
        "roles": ["dev", "eng/web"],
        "hostname": "sched.example.com",
        "principal": "vector",
        "webui_url": "http://sched.example.com:8080/",
        "capabilities": [{"type": "MULTI_ROLE"}, {"type": "RESERVATION_REFINEMENT"},
                         {"type": "PARTITION_AWARE"}, {"type": "REGION_AWARE"}],
        "labels": {"labels": [{"key": "k", "value": "v"}, {"key": "only-key"}]},
    }),
    ("framework_info_defaults", "FrameworkInfo", "mesos.v1.FrameworkInfo", {
        "user": "",
        "name": "minimal",
        "failover_timeout": 0.0,
        "checkpoint": False,
    }),
    ("resource_scalar_pre_refinement", "Resource", "mesos.v1.Resource", {
        "name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}, "role": "*",
    }),
    ("resource_ranges_refined", "Resource", "mesos.v1.Resource", {
        "name": "ports", "type": "RANGES",
        "ranges": {"range": [{"begin": 31000, "end": 32000},
                             {"begin": 18446744073709551000, "end": 18446744073709551615}]},
        "allocation_info": {"role": "eng/web"},
        "reservations": [
            {"type": "STATIC", "role": "eng"},
            {"type": "DYNAMIC", "role": "eng/web", "principal": "ops",
             "labels": {"labels": [{"key": "a", "value": "b"}]}},
        ],
    }),
    ("resource_dynamic_pre_refinement", "Resource", "mesos.v1.Resource", {
        "name": "mem", "type": "SCALAR", "scalar": {"value": 1024.0}, "role": "web",
        "reservation": {"principal": "ops"},
    }),
    ("resource_persistent_shared_volume", "Resource", "mesos.v1.Resource", {
        "provider_id": {"value": "rp-1"},
        "name": "disk", "type": "SCALAR", "scalar": {"value": 2048.0},
        "reservations": [{"type": "DYNAMIC", "role": "db", "principal": "db"}],
        "disk": {
            "persistence": {"id": "pg", "principal": "db"},
            "volume": {"container_path": "data", "mode": "RW"},
            "source": {"type": "MOUNT", "mount": {"root": "/mnt/d0"}, "id": "vg0/lv1",
                       "profile": "fast"},
        },
        "shared": {},
    }),
    ("resource_revocable_set", "Resource", "mesos.v1.Resource", {
        "name": "gpu_slots", "type": "SET", "set": {"item": ["g0", "g1"]},
        "revocable": {},
    }),
    ("attribute_text", "Attribute", "mesos.v1.Attribute", {
        "name": "rack", "type": "TEXT", "text": {"value": "r12"},
    }),
    ("agent_info", "SlaveInfo", "mesos.v1.AgentInfo", {
        "hostname": "agent-1", "port": 5051,
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 8.0}}],
        "attributes": [{"name": "zone", "type": "SET", "set": {"item": ["a"]}},
                       {"name": "gen", "type": "SCALAR", "scalar": {"value": 3.0}}],
        "id": {"value": "S1"},
        "domain": {"fault_domain": {"region": {"name": "r"}, "zone": {"name": "z"}}},
    }),
    ("master_info", "MasterInfo", "mesos.v1.MasterInfo", {
        "id": "master-uuid", "ip": 4294967295, "port": 5050, "pid": "master@10.0.0.1:5050",
        "hostname": "m1", "version": "1.7.2",
        "address": {"hostname": "m1", "ip": "10.0.0.1", "port": 5050},
        "capabilities": [{"type": "AGENT_UPDATE"}],
    }),
    ("offer", "Offer", "mesos.v1.Offer", {
        "id": {"value": "O1"}, "framework_id": {"value": "F1"}, "agent_id": {"value": "S1"},
        "hostname": "agent-1",
        "url": {"scheme": "http", "address": {"hostname": "agent-1", "ip": "10.0.0.2",
                                              "port": 5051}, "path": "/slave(1)"},
        "domain": {"fault_domain": {"region": {"name": "r"}, "zone": {"name": "z"}}},
        "resources": [
            {"name": "cpus", "type": "SCALAR", "scalar": {"value": 3.75},
             "allocation_info": {"role": "dev"}},
            {"name": "ports", "type": "RANGES",
             "ranges": {"range": [{"begin": 31000, "end": 31005}]},
             "allocation_info": {"role": "dev"}},
        ],
        "attributes": [{"name": "rack", "type": "TEXT", "text": {"value": "r1"}}],
        "executor_ids": [{"value": "E1"}, {"value": "E2"}],
        "unavailability": {"start": {"nanoseconds": -1000},
                           "duration": {"nanoseconds": 9223372036854775807}},
        "allocation_info": {"role": "dev"},
    }),
    ("task_info", "TaskInfo", "mesos.v1.TaskInfo", {
        "name": "web", "task_id": {"value": "web-1"}, "agent_id": {"value": "S1"},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.1},
                       "role": "*"}],
        "command": {
            "uris": [{"value": "http://x/app.tgz", "executable": False, "extract": True,
                      "cache": True, "output_file": "app.tgz"}],
            "environment": {"variables": [{"name": "A", "type": "VALUE", "value": "1"}]},
            "shell": False, "value": "/app/run", "arguments": ["run", "--fast"],
            "user": "nobody",
        },
        "container": {
            "type": "MESOS",
            "volumes": [{"container_path": "/tmp/x", "host_path": "/tmp", "mode": "RO"}],
            "hostname": "web-1",
            "mesos": {"image": {"type": "DOCKER", "docker": {"name": "alpine"},
                                "cached": False}},
            "linux_info": {"share_pid_namespace": True},
            "tty_info": {"window_size": {"rows": 24, "columns": 80}},
        },
        "health_check": {"type": "HTTP",
                         "http": {"port": 8080, "path": "/h", "statuses": [200, 201],
                                  "protocol": "IPv4"},
                         "delay_seconds": 15.0, "interval_seconds": 10.0,
                         "timeout_seconds": 20.0, "consecutive_failures": 3,
                         "grace_period_seconds": 10.0},
        "kill_policy": {"grace_period": {"nanoseconds": 5000000000}},
        "data": "AAEC/w==",
        "labels": {"labels": [{"key": "tier", "value": "web"}]},
        "discovery": {"visibility": "EXTERNAL", "name": "web",
                      "ports": {"ports": [{"number": 80, "protocol": "tcp"}]}},
        "max_completion_time": {"nanoseconds": 60000000000},
    }),
    ("task_status", "TaskStatus", "mesos.v1.TaskStatus", {
        "task_id": {"value": "web-1"}, "state": "TASK_KILLING", "message": "stopping",
        "source": "SOURCE_AGENT", "reason": "REASON_CONTAINER_LIMITATION_MEMORY",
        "data": "eA==", "agent_id": {"value": "S1"}, "executor_id": {"value": "E1"},
        "timestamp": 1767225600.25, "uuid": UUID_B64, "healthy": False,
        "labels": {"labels": [{"key": "x"}]},
        "container_status": {"container_id": {"value": "c1", "parent": {"value": "c0"}},
                             "executor_pid": 77,
                             "network_infos": [{"ip_addresses": [{"protocol": "IPv6",
                                                                  "ip_address": "::1"}]}]},
        "unreachable_time": {"nanoseconds": 1},
        "limitation": {"resources": [{"name": "mem", "type": "SCALAR",
                                      "scalar": {"value": 32.0}}]},
    }),
    ("executor_info", "ExecutorInfo", "mesos.v1.ExecutorInfo", {
        "type": "CUSTOM", "executor_id": {"value": "E1"}, "framework_id": {"value": "F1"},
        "command": {"value": "./exec", "shell": True},
        "resources": [{"name": "mem", "type": "SCALAR", "scalar": {"value": 32.0}}],
        "name": "exec", "data": "ZGF0YQ==",
        "shutdown_grace_period": {"nanoseconds": 3000000000},
        "labels": {"labels": [{"key": "l", "value": "1"}]},
    }),
]


def to_v0(value):
    """Renames v1 keys to their v0 spelling, recursively."""
    if isinstance(value, dict):
        return {V1_TO_V0.get(k, k): to_v0(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_v0(v) for v in value]
    if isinstance(value, str):
        return V1_TO_V0_ENUM.get(value, value)
    return value


def main():
    out = {
        "generator": "tests/vectors/generate.py",
        "source": "PyPI mesos.interface==1.7.2 (mesos_pb2, v0), protobuf=="
                  + google.protobuf.__version__ + " (" + api_implementation.Type() + ")",
        "vectors": [],
    }
    for name, v0_type, v1_type, v1_json in VECTORS:
        message = getattr(mesos_pb2, v0_type)()
        json_format.ParseDict(to_v0(copy.deepcopy(v1_json)), message)
        assert message.IsInitialized(), name
        out["vectors"].append({
            "name": name,
            "v0_type": "mesos." + v0_type,
            "v1_type": v1_type,
            "json": v1_json,
            "hex": message.SerializeToString().hex(),
        })
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
