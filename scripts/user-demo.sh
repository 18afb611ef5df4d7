#!/usr/bin/env bash
# The documented run_demo.sh: start UserService on a free port with its own
# data folder, run the five demo scenarios against it, stop the server.
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python

data=$(mktemp -d)
port=$("$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$py" -m pyservices user --user-addr "127.0.0.1:$port" --data-dir "$data" &
server=$!
cleanup() {
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

# Wait (bounded) until the server reports SERVING.
"$py" - "$port" <<'PY'
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

with grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}") as channel:
    grpc.channel_ready_future(channel).result(timeout=15)
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING, reply
PY

"$py" -m pyservices.users.client --server "127.0.0.1:$port"
