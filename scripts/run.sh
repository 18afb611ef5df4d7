#!/usr/bin/env bash
# Runs the whole system in one terminal: the Go chat server and the Python
# services. Ctrl+C or SIGTERM stops both; if either exits, the other is
# stopped too. Arguments are passed to the chat server (e.g. -addr :6053).
set -uo pipefail
cd "$(dirname "$0")/.."

# File sharing (/send, /get) needs one key both the chat server and
# StreamingService read: the chat server's if one is given (CHAT_FILE_KEY, as
# for compose.yaml, or CHAT_FILE_KEY_FILE), else a file made once, kept
# beside the data. StreamingService gets the same unless it is given its own.
if [[ -z "${CHAT_FILE_KEY:-}" && -z "${CHAT_FILE_KEY_FILE:-}" ]]; then
  key="${POLYCHAT_DATA_DIR:-data}/file.key"
  if [[ ! -s "$key" ]]; then
    mkdir -p "$(dirname "$key")"
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_hex(32))' >"$key")
  fi
  export CHAT_FILE_KEY_FILE="$key"
fi
if [[ -z "${STREAMING_FILE_KEY:-}" && -z "${STREAMING_FILE_KEY_FILE:-}" ]]; then
  if [[ -n "${CHAT_FILE_KEY:-}" ]]; then
    export STREAMING_FILE_KEY="$CHAT_FILE_KEY"
  else
    export STREAMING_FILE_KEY_FILE="$CHAT_FILE_KEY_FILE"
  fi
fi

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
