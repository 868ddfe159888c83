# Sourced by the .ci/gpu_*.sh scripts on the GPU machine: the environment every run there
# shares (the staged data and commit of .gpu/, no downloads, a cache outside the data, the
# checkout and the Jupyter wheels on the path). Installs the staged wheels once.
LRLC_COMMIT=$(cat .gpu/COMMIT) || { echo "run .ci/gpu_stage.sh first" >&2; exit 1; }
export LRLC_COMMIT LRLC_DATA="$PWD/.gpu/data" LRLC_OFFLINE=1 LRLC_CACHE=/tmp/lrlc-cache
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}" PATH="/tmp/site/bin:$PATH"
export PYTHONUNBUFFERED=1
unset LRLC_QUICK
if [ -d .gpu/wheels ] && [ ! -d /tmp/site/ipykernel ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .gpu/wheels/*.whl
    python3 -m ipykernel install --user --name python3 >/dev/null
fi
