#!/usr/bin/env bash
# Compile time of dendrite's headers beside <Eigen/Dense>: an empty translation unit that
# includes one header, compiled with -O2 (-c, object discarded), best of N runs, for g++ and
# clang++. The targets (issue "Fast to include"): the umbrella within 2x <Eigen/Dense>, each
# module header within 1.5x.
#   bash bench/compile_time.sh [runs]      (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
eigen_inc=$(pkg-config --cflags-only-I eigen3 2>/dev/null | sed 's/-I/-isystem /g' || true)
[ -z "$eigen_inc" ] && eigen_inc="-isystem /usr/include/eigen3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
headers=(Eigen/Dense dendrite/dendrite.hpp dendrite/core.hpp dendrite/autodiff.hpp dendrite/nn.hpp
         dendrite/ica.hpp dendrite/geometry.hpp dendrite/io.hpp dendrite/rt.hpp dendrite/kernels.hpp)

best_time() {  # compiler header -> best wall time of $runs compiles, in seconds
  local cxx=$1 header=$2 best=""
  printf '#include <%s>\nint main() {}\n' "$header" > "$tmp/tu.cpp"
  for _ in $(seq "$runs"); do
    local start end t
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$cxx" -std=c++20 -O2 -Iinclude $eigen_inc -c "$tmp/tu.cpp" -o "$tmp/tu.o"
    end=$(date +%s.%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$t; fi
  done
  echo "$best"
}

for cxx in g++ clang++; do
  command -v "$cxx" >/dev/null || continue
  echo "== $cxx ($("$cxx" --version | head -1)), best of $runs"
  base=$(best_time "$cxx" Eigen/Dense)
  printf '%-26s %7s s  %5s x\n' "Eigen/Dense" "$base" "1.00"
  for h in "${headers[@]:1}"; do
    t=$(best_time "$cxx" "$h")
    printf '%-26s %7s s  %5s x\n' "$h" "$t" "$(awk -v a="$t" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
  done
done
