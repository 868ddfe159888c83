#!/usr/bin/env bash
# On the GPU machine: execute chapters on the GPU, side by side, and send them back in $OUT.
#
#   bash .ci/gpu_chapters.sh book/05_mnist.ipynb ...   (after .ci/gpu_stage.sh --wheels GRID...)
#
# Installs the Jupyter wheels staged in .gpu/wheels and a kernel, then runs .ci/execute.py
# (which refuses a notebook whose outputs hold an error, a warning or a machine path) with
# the full data (no LRLC_QUICK), one process per chapter. A refused or failed chapter comes
# back in $OUT/rejected/ as it stood. Copy the returned notebooks over book/ and commit them.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "name the chapters to execute" >&2; exit 2; }
out=${OUT:-/tmp/executed}
mkdir -p "$out"
. .ci/gpu_env.sh
pids=()
for chapter in "$@"; do
    (python3 .ci/execute.py --rejected "$out/rejected" "$chapter" && cp "$chapter" "$out/") &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
