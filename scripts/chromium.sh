#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the browser tests
# (playwright-core drives it; a browser download of its own cannot work
# here). Installs it with apt-get when it is missing, which needs root.
set -euo pipefail
browser="${CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$browser" ]]; then
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "the browser tests need chromium: run 'sudo apt-get install chromium' (or set CHROMIUM to a Chromium binary)" >&2
  exit 1
fi
echo "installing chromium for the browser tests (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
