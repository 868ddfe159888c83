#!/usr/bin/env bash
# On the GPU machine, alone on it: the training-epoch benchmark (CIFAR-10, stage `cifar10`;
# eager, and compiled in torch.compile's default and reduce-overhead modes),
# a grid's throughput with 1, 4 and 8 worker processes (CIFAR-10), and the layer benchmark,
# results in $OUT/benchmarks/.
#
#   bash .ci/gpu_benchmarks.sh [LAYER_ARGS...]   e.g. --check-only (the layers' checks alone)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/benchmarks}
mkdir -p "$out/benchmarks"
. .ci/gpu_env.sh
status=0
python3 benchmarks/training.py --device cuda --compile default,reduce-overhead --out "$out/benchmarks" || status=1
python3 benchmarks/grid_workers.py --device cuda --out "$out/benchmarks" || status=1
python3 benchmarks/layers.py --device cuda --out "$out/benchmarks" "$@" || status=1
exit $status
