# shellcheck shell=bash
# Sourced by run.sh and run-cluster.sh, from the repository root.
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
