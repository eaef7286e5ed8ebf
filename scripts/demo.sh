#!/usr/bin/env bash
# Quick start, first command: installs what is missing, builds and runs the flagship demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh cmake make g++ libeigen3-dev libxsimd-dev libedf-dev
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release \
  -DDENDRITE_BUILD_TESTS=OFF -DDENDRITE_BUILD_BENCH=OFF -DDENDRITE_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/demo --parallel "$jobs" --target dendrite-demo
./build/demo/examples/dendrite-demo "$@"
