#!/bin/sh
# Builds wasm/training-kernels.wasm from csrc/*.c. The .wasm is committed, so installing
# and running the project needs no C toolchain; run this after changing csrc/ (needs
# clang and wasm-ld, Debian: apt-get install clang lld).
#   scripts/build-wasm.sh [output.wasm]     default: wasm/training-kernels.wasm
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$here/wasm/training-kernels.wasm}
CC=${CC:-clang}
# Sorted so that every machine links the objects in the same order.
sources=$(ls "$here"/csrc/*.c | LC_ALL=C sort)
# -nostdlib and --import-memory: the module runs on tfjs-backend-wasm's own heap (see
# csrc/common.h). -mbulk-memory turns the memset/memcpy clang emits into memory.fill/copy
# instead of calls to a libc we do not link. --strip-all drops names, so the bytes depend
# on the compiler version only, not on paths. A stack of size 0 at address 0 makes any
# accidental stack use trap (the stack pointer wraps to 4 GiB) instead of writing over
# tfjs's data.
# shellcheck disable=SC2086
"$CC" --target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -fno-builtin \
  -Wall -Wextra -Werror \
  -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all -Wl,-z,stack-size=0 -Wl,--global-base=0 \
  -o "$out" $sources
# The compiler's version goes beside the binary: the rebuild test expects identical bytes
# from the same version only.
"$CC" --version | head -n 1 > "${out%.wasm}.compiler.txt"
echo "built $out with $(cat "${out%.wasm}.compiler.txt")"
