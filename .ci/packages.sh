#!/usr/bin/env bash
# Optional system packages for the test suites, installed quietly and only when missing:
#   chromium    the browser tests (tests/e2e/browser_test.ts drive /usr/bin/chromium)
#   postgresql  the PostgreSQL relay store and multi-node tests (they start their own server)
#   nats-server the peers benchmark suite (NATS JetStream as a yardstick; it starts its own)
# Without them the suites that need them skip with a message; this script never fails CI.
set -uo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "packages: no apt-get here; not installing ${missing[*]} (those tests will be skipped)"
  exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "packages: not root and no sudo; not installing ${missing[*]} (those tests will be skipped)"
    exit 0
  fi
fi

echo "packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ${sudo[@]+"${sudo[@]}"} apt-get update -qq >"$log" 2>&1 &&
  ${sudo[@]+"${sudo[@]}"} apt-get install -y -qq "${missing[@]}" >>"$log" 2>&1; then
  rm -f "$log"
else
  echo "packages: could not install ${missing[*]} (those tests will be skipped); apt said:"
  tail -5 "$log"
  rm -f "$log"
fi
exit 0
