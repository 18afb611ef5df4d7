#!/usr/bin/env bash
# Runs a Polychat cluster on loopback in one terminal: a 3-node NATS cluster
# with JetStream, 3 chat servers on it (every one serving every room, the
# chat's stream and buckets replicated on all 3 NATS nodes), and the Python
# services. Ctrl+C or SIGTERM stops everything; if any process exits, the
# others are stopped too. Usage: scripts/run-cluster.sh NATS_SERVER_BINARY
set -uo pipefail
cd "$(dirname "$0")/.."

nats_server=${1:?usage: scripts/run-cluster.sh NATS_SERVER_BINARY}
source scripts/file-key.sh # every chat server signs file grants with the one key
run=data/cluster # NATS's stores, kept across runs like the chat's data/
mkdir -p "$run"

nats_urls=nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224
routes=nats://127.0.0.1:6222,nats://127.0.0.1:6223,nats://127.0.0.1:6224
pids=()
for i in 1 2 3; do
  "$nats_server" -n "nats-$i" -a 127.0.0.1 -p $((4221 + i)) -js -sd "$run/nats-$i" \
    --cluster_name polychat --cluster "nats://127.0.0.1:$((6221 + i))" --routes "$routes" \
    -l "$run/nats-$i.log" &
  pids+=($!)
done
chat_addrs=()
for i in 1 2 3; do
  addr=127.0.0.1:$((50060 + i))
  chat_addrs+=("$addr")
  bin/chat-server -addr "$addr" -metrics-addr "127.0.0.1:$((9060 + i))" \
    -web-addr "127.0.0.1:$((8060 + i))" -data-dir "$run/chat-$i" \
    -nats-url "$nats_urls" -nats-replicas 3 &
  pids+=($!)
done
.venv/bin/python -m pyservices &
pids+=($!)

stop() {
  trap - INT TERM
  kill -TERM "${pids[@]}" 2>/dev/null
  wait "${pids[@]}" 2>/dev/null
}
trap 'stop; exit 0' INT TERM

target=ipv4:$(IFS=,; echo "${chat_addrs[*]}")
cat <<MSG

Polychat cluster on loopback:
  NATS (JetStream, 3 nodes):  $nats_urls   (logs and stores in $run/)
  chat servers:              ${chat_addrs[*]}   (metrics on :9061, :9062, :9063)
  chat in the browser:       http://127.0.0.1:8061/ (and :8062, :8063)
  Python services:           as with make run
Connect clients to any server, or to all of them (a client uses the first
that answers and moves to another if it is lost, resuming its session):
  go run client/main.go Alice general $target
  .venv/bin/python pyclient/client.py Bob general $target
Ctrl+C stops everything.

MSG

# Whichever stops first (a crash, a port in use), stop the others and report.
wait -n "${pids[@]}"
status=$?
stop
exit "$status"
