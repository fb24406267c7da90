#!/bin/sh
# Builds berth-runc's C helper with the system compiler. Never downloads a binary.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../../dist/native"
cc="${CC:-cc}"
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "berth: building berth-runc needs a C compiler ($cc not found); install one, e.g. apt-get install gcc libc6-dev" >&2
  exit 1
fi
mkdir -p "$out"
"$cc" -O2 -Wall -Wextra -Wno-unused-parameter -o "$out/berth-runc-init.tmp" "$here/init.c"
mv "$out/berth-runc-init.tmp" "$out/berth-runc-init"
"$cc" -O2 -Wall -Wextra -Wno-unused-parameter -o "$out/berth-console-relay.tmp" "$here/console-relay.c"
mv "$out/berth-console-relay.tmp" "$out/berth-console-relay"
