#!/usr/bin/env bash
# Quick start, second command: installs what is missing, then builds and runs the whole test
# suite through ctest in three configurations:
#   native    g++, Release, -march=native           (the SIMD width of this machine)
#   portable  g++, Release, no arch flags (SSE2)     (proves no code assumes a lane count;
#             with valgrind installed, also the nn tests under memcheck)
#   sanitize  clang++, -O1, AddressSanitizer + UBSan (and a second compiler's warnings)
# Pass configuration names to run only those, e.g. `bash scripts/test.sh native`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh cmake make g++ clang pkg-config libeigen3-dev libxsimd-dev catch2 libbenchmark-dev
jobs=$(nproc 2>/dev/null || echo 2)
configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(native portable sanitize)

for cfg in "${configs[@]}"; do
  case "$cfg" in
    native)   args=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DDENDRITE_NATIVE=ON) ;;
    portable) args=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DDENDRITE_NATIVE=OFF
                    -DDENDRITE_BUILD_BENCH=OFF)
              # memcheck of the nn tests where valgrind is installed (it cannot run AVX-512)
              if command -v valgrind >/dev/null; then args+=(-DDENDRITE_VALGRIND=ON); fi ;;
    sanitize) args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g"
                    -DDENDRITE_NATIVE=ON -DDENDRITE_SANITIZE=ON -DDENDRITE_BUILD_BENCH=OFF) ;;
    *) echo "unknown configuration '$cfg' (native, portable, sanitize)" >&2; exit 2 ;;
  esac
  echo "=== dendrite tests: $cfg ==="
  start=$(date +%s)
  cmake -S . -B "build/$cfg" "${args[@]}" >/dev/null
  cmake --build "build/$cfg" --parallel "$jobs"
  (cd "build/$cfg" && ctest --output-on-failure --parallel "$jobs")
  echo "=== $cfg passed in $(( $(date +%s) - start )) s ==="
done
