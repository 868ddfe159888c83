#!/usr/bin/env bash
# Stage what the offline GPU machine needs in .gpu/ (ignored by git), for a `device` call
# that carries .gpu:
#
#   bash .ci/gpu_stage.sh [--wheels] GRID...
#
# GRID: mnist, cifar10, celeba, trans_celeba48 or celeba-attributes (or one of the first
# four with -combining-lr-100, -last-layer-combining-lr-100 (or -first- or -middle-) or
# -wide-conv, as .ci/gpu_grids.sh takes them). Their data are copied
# from $LRLC_DATA (default ../shared/data); --wheels adds the Jupyter wheels of
# ../shared/gpu-wheels, to execute chapters there (.ci/gpu_chapters.sh). .gpu/COMMIT holds
# the commit of this checkout, which the copy on the GPU machine has no .git to tell.
# A call carries at most 64 MiB with the working tree: this refuses more than 56 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
wheels=0
if [ "${1:-}" = --wheels ]; then wheels=1; shift; fi
[ $# -gt 0 ] || { sed -n '2,13p' "$0"; exit 2; }
src="${LRLC_DATA:-../shared/data}"
rm -rf .gpu && mkdir -p .gpu/data
for grid in "$@"; do
    plain=${grid%-wide-conv}
    plain=${plain%-combining-lr-100}
    plain=${plain%-last-layer}
    plain=${plain%-first-layer}
    case "${plain%-middle-layer}" in  # a faster-logits grid needs its plain grid's data
        mnist) need=MNIST ;;
        cifar10) need=cifar10-jpeg.tar.gz ;;
        celeba | trans_celeba48 | celeba-attributes) need=celeba-subset ;;
        *) echo "unknown grid '$grid': use mnist, cifar10, celeba, trans_celeba48 or celeba-attributes" >&2; exit 2 ;;
    esac
    [ -e "$src/$need" ] || { echo "$src/$need is missing: set LRLC_DATA to the data root" >&2; exit 1; }
    [ -e ".gpu/data/$need" ] || cp -r "$src/$need" .gpu/data/
done
if [ $wheels = 1 ]; then
    # debugpy and jedi (10 of the 17 MiB) are optional for ipykernel and IPython: left out
    mkdir -p .gpu/wheels
    for whl in ../shared/gpu-wheels/*.whl; do
        case "$(basename "$whl")" in debugpy-* | jedi-*) ;; *) cp "$whl" .gpu/wheels/ ;; esac
    done
fi
python -c "from lrlc.provenance import git_commit; print(git_commit())" > .gpu/COMMIT
size=$(du -sm .gpu | cut -f1)
echo "staged .gpu: ${size} MiB, commit $(cat .gpu/COMMIT)"
if [ "$size" -gt 56 ]; then
    echo "too large for one call (64 MiB with the working tree): stage fewer grids" >&2
    exit 1
fi
