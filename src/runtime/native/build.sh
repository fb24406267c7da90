#!/bin/sh
# Builds berth-runc's C helper with the system compiler. Never downloads a binary.
# --optional (the package build, so npm ci): without a compiler, say so and succeed; only berth-runc and berth run
# need the helper, and they say how to get it when it is missing.
set -eu
optional=false
[ "${1:-}" = "--optional" ] && optional=true
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../../dist/native"
cc="${CC:-cc}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "berth: building berth-runc needs a C compiler ($cc not found); install one, e.g. apt-get install gcc libc6-dev" >&2
  if $optional; then
    echo "berth: continuing without berth-runc's helper: copy, inspect, sync, sign and the registry work; berth run and berth-runc need it (npm run build:native)" >&2
    exit 0
  fi
  exit 1
fi
mkdir -p "$out"
"$cc" -O2 -Wall -Wextra -Wno-unused-parameter -o "$out/berth-runc-init.tmp" "$here/init.c"
mv "$out/berth-runc-init.tmp" "$out/berth-runc-init"
"$cc" -O2 -Wall -Wextra -Wno-unused-parameter -o "$out/berth-console-relay.tmp" "$here/console-relay.c"
mv "$out/berth-console-relay.tmp" "$out/berth-console-relay"
# Static: it starts in a pod's root but must not need that root's libraries (node's live beside node, not in /lib).
"$cc" -O2 -Wall -Wextra -Wno-unused-parameter -static -o "$out/berth-chroot.tmp" "$here/chroot-exec.c"
mv "$out/berth-chroot.tmp" "$out/berth-chroot"
