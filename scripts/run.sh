#!/usr/bin/env bash
# Runs the whole system in one terminal: the Go chat server and the Python
# services. Ctrl+C or SIGTERM stops both; if either exits, the other is
# stopped too. Arguments are passed to the chat server (e.g. -addr :6053).
set -uo pipefail
cd "$(dirname "$0")/.."

source scripts/file-key.sh

bin/chat-server "$@" &
chat=$!
.venv/bin/python -m pyservices &
services=$!

stop() {
  trap - INT TERM
  kill -TERM "$chat" "$services" 2>/dev/null
  wait "$chat" "$services" 2>/dev/null
}
trap 'stop; exit 0' INT TERM

# Whichever stops first (a crash, a port in use), stop the other and report.
wait -n "$chat" "$services"
status=$?
stop
exit "$status"
