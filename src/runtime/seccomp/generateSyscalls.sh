#!/bin/sh
# Regenerates the syscall number tables from the kernel headers (linux-libc-dev). Run by hand after a header update.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
gen() { # header export-name file arch-label
  {
    echo "/** $4 syscall numbers, generated from linux asm/$(basename "$1") (src/runtime/seccomp/generateSyscalls.sh). */"
    echo "export const $2: Record<string, number> = {"
    grep -E '^#define __NR_' "$1" | awk '{sub("__NR_","",$2); printf "  %s: %s,\n", $2, $3}'
    echo "};"
  } > "$here/$3"
}
gen /usr/include/x86_64-linux-gnu/asm/unistd_64.h syscallsX86_64 syscallsX86_64.ts x86_64
gen /usr/include/x86_64-linux-gnu/asm/unistd_32.h syscallsX86 syscallsX86.ts i386
