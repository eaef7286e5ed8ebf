#!/usr/bin/env bash
# Quick start, second command: installs what is missing, then builds and runs the whole test
# suite through ctest. Configurations:
#   native    clang++, -march=native (the SIMD width of this machine), DENDRITE_QUICK_BUILD:
#             unit tests at -O0, the files with long learning or statistical runs and the
#             examples at -O1 (tests/CMakeLists.txt lists them), the real-time audit at -O3.
#             The default: clang compiles these tests about 1.8x faster than g++, which CI
#             still builds with.
#   portable  g++, Release, no arch flags (SSE2: proves no code assumes a lane count), unit
#             tests at -O1 (g++ gains little at -O0; the real-time audit and the benchmarks at
#             -O3, built), every public header compiled on its own, and with valgrind installed
#             the nn tests under memcheck.
#   sanitize  clang++, AddressSanitizer + UBSan (without five checks that cost a third of the
#             build, CMakeLists.txt says which and why; and a second compiler's warnings), the unit
#             tests at -O0 and -O1 as in native, the rest at -O1; Eigen's decompositions
#             compiled once without instrumentation (tests/CMakeLists.txt); line tables only
#             for the reports (full -g compiles 20 % slower, 3x the objects).
#   avx2      clang++, -march=haswell, as native otherwise: the AVX2 kernels (8-float
#             registers, the across-rows lane products, VPMADDUBSW's int8 product, F16C) where
#             native took AVX-512. Needs a host with AVX2, FMA and F16C.
#   avx512    clang++, -march=skylake-avx512, the nn tests only: AVX-512 without BF16 and VNNI
#             (bf16 weights widened by shifts, the int8 product through AVX2), where native took
#             those instructions. Needs a host with AVX-512 F, BW, DQ and VL.
# The examples and their tests are built once, in native: portable and sanitize skip them
# (about a fifth of each one's build), and the consumer compile checks (package.*_consumer_*,
# five compiles with fixed compilers and flags, about 15 s each) run there only.
# `bash scripts/test.sh` runs native; `bash scripts/test.sh all` runs native, portable and
# sanitize; or name configurations, e.g. `bash scripts/test.sh portable sanitize`.
# `bash scripts/test.sh extra` (what CI runs after native) runs portable and sanitize, then
# avx512 where the host has AVX-512 BF16 or VNNI and avx2 where it has AVX-512: the narrower
# instruction sets native did not compile for (on an AVX2 host native is avx2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh cmake make g++ clang pkg-config libeigen3-dev libxsimd-dev catch2 libbenchmark-dev \
  espeak-ng python3-scipy libedf-dev
jobs=$(nproc 2>/dev/null || echo 2)
# has_cpu FLAG...: the host's /proc/cpuinfo lists every flag
has_cpu() {
  local f
  for f in "$@"; do grep -qw "$f" /proc/cpuinfo 2>/dev/null || return 1; done
}

configs=("$@")
[ ${#configs[@]} -eq 0 ] && configs=(native)
[ "${configs[*]}" = "all" ] && configs=(native portable sanitize)
if [ "${configs[*]}" = "extra" ]; then
  configs=(portable sanitize)
  if has_cpu avx512f && { has_cpu avx512_bf16 || has_cpu avx512_vnni; }; then
    configs+=(avx512)
  fi
  if has_cpu avx512f; then configs+=(avx2); fi
fi

for cfg in "${configs[@]}"; do
  target=(); filter=()
  case "$cfg" in
    native)   args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DDENDRITE_NATIVE=ON
                    -DDENDRITE_QUICK_BUILD=ON -DDENDRITE_BUILD_BENCH=OFF) ;;
    portable) args=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Release -DDENDRITE_NATIVE=OFF
                    -DDENDRITE_QUICK_BUILD=ON -DDENDRITE_BUILD_BENCH=ON -DDENDRITE_HEADER_CHECK=ON
                    -DDENDRITE_BUILD_EXAMPLES=OFF -DDENDRITE_CONSUMER_CHECKS=OFF)
              # memcheck of the nn tests where valgrind is installed (it cannot run AVX-512)
              if command -v valgrind >/dev/null; then args+=(-DDENDRITE_VALGRIND=ON); fi ;;
    sanitize) args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only"
                    -DDENDRITE_NATIVE=ON -DDENDRITE_SANITIZE=ON -DDENDRITE_QUICK_BUILD=ON
                    -DDENDRITE_BUILD_BENCH=OFF -DDENDRITE_BUILD_EXAMPLES=OFF
                    -DDENDRITE_CONSUMER_CHECKS=OFF) ;;
    avx2)     if ! has_cpu avx2 fma f16c; then
                echo "configuration avx2 needs a host with AVX2, FMA and F16C" >&2; exit 2
              fi
              args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DDENDRITE_NATIVE=OFF
                    -DCMAKE_CXX_FLAGS=-march=haswell -DDENDRITE_QUICK_BUILD=ON
                    -DDENDRITE_BUILD_BENCH=OFF -DDENDRITE_BUILD_EXAMPLES=OFF
                    -DDENDRITE_CONSUMER_CHECKS=OFF) ;;
    avx512)   if ! has_cpu avx512f avx512bw avx512dq avx512vl; then
                echo "configuration avx512 needs a host with AVX-512 F, BW, DQ and VL" >&2; exit 2
              fi
              args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Release -DDENDRITE_NATIVE=OFF
                    -DCMAKE_CXX_FLAGS=-march=skylake-avx512 -DDENDRITE_QUICK_BUILD=ON
                    -DDENDRITE_BUILD_BENCH=OFF -DDENDRITE_BUILD_EXAMPLES=OFF
                    -DDENDRITE_CONSUMER_CHECKS=OFF)
              # the int8 target checks have their own flags and run in native
              target=(--target dendrite_nn_tests); filter=(-R '^nn[.]' -E int8_dot_product) ;;
    *) echo "unknown configuration '$cfg' (native, portable, sanitize, avx2, avx512," \
            "all or extra)" >&2
       exit 2 ;;
  esac
  echo "=== dendrite tests: $cfg ==="
  start=$(date +%s)
  cmake -S . -B "build/$cfg" "${args[@]}" >/dev/null
  cmake --build "build/$cfg" --parallel "$jobs" "${target[@]}"
  (cd "build/$cfg" && ctest --output-on-failure --parallel "$jobs" "${filter[@]}")
  echo "=== $cfg passed in $(( $(date +%s) - start )) s ==="
done
