#!/usr/bin/env bash
# Runs the whole system in one terminal: the Python services in the
# background, the Go chat server in the foreground. Ctrl+C (or SIGTERM)
# stops both. Arguments are passed to the chat server (e.g. -addr :6000).
set -euo pipefail
cd "$(dirname "$0")/.."

.venv/bin/python -m pyservices &
services=$!
stop_services() {
  kill -TERM "$services" 2>/dev/null || true
  wait "$services" 2>/dev/null || true
}
trap stop_services EXIT

bin/chat-server "$@"
