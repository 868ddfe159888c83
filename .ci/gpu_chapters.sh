#!/usr/bin/env bash
# On the GPU machine: execute chapters in place on the GPU and send them back in $OUT.
#
#   bash .ci/gpu_chapters.sh book/05_mnist.ipynb ...   (after .ci/gpu_stage.sh --wheels GRID...)
#
# Installs the Jupyter wheels staged in .gpu/wheels and a kernel, then runs .ci/execute.py
# (which refuses a notebook whose outputs hold an error, a warning or a machine path) with
# the full data (no LRLC_QUICK). Copy the returned notebooks over book/ and commit them.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "name the chapters to execute" >&2; exit 2; }
out=${OUT:-/tmp/executed}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/wheels/*.whl
LRLC_COMMIT=$(cat .gpu/COMMIT)
export LRLC_COMMIT LRLC_DATA="$PWD/.gpu/data" LRLC_OFFLINE=1 LRLC_CACHE=/tmp/lrlc-cache
export PYTHONPATH="/tmp/site:$PWD" PATH="/tmp/site/bin:$PATH" PYTHONUNBUFFERED=1
unset LRLC_QUICK
python3 -m ipykernel install --user --name python3 >/dev/null
status=0
for chapter in "$@"; do
    if python3 .ci/execute.py "$chapter"; then
        cp "$chapter" "$out/"
    else
        status=1
    fi
done
exit $status
