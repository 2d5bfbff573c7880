#!/usr/bin/env bash
# Compiles the data path programs (baton.bpf.c) into one BPF object for the jar. Run by Maven
# (generate-resources); needs clang and libbpf's headers (Debian: clang libbpf-dev).
#   build.sh OUTPUT_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$1"
command -v clang >/dev/null || { echo "build.sh: clang is missing (apt-get install clang libbpf-dev)" >&2; exit 1; }
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "build.sh: libbpf's headers are missing (apt-get install libbpf-dev)" >&2; exit 1; }
multiarch="$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")"
mkdir -p "$out"
# -g: libbpf needs the object's BTF; the prefix map keeps the build directory out of the object.
cd "$here"
clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$multiarch" -fdebug-prefix-map="$here"=. \
  -c baton.bpf.c -o "$out/baton.bpf.o"
