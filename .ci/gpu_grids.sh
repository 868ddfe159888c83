#!/usr/bin/env bash
# On the GPU machine: run reference grids side by side for at most MINUTES, results in $OUT.
#
#   bash .ci/gpu_grids.sh MINUTES GRID...      (after .ci/gpu_stage.sh GRID... here; MINUTES may be 6.5)
#
# GRID: mnist, cifar10, celeba, trans_celeba48 or celeba-attributes, or one of the first four
# with -combining-lr-100 (LRLC of ranks 2 to 16 with its combining logits at 100 times the
# learning rate) or -last-layer-combining-lr-100 (LRLC of rank 4 in the last layer only, the
# same logits), at the lr and weight decay the plain grid chose, read from $OUT/<grid>.json,
# else results/partial/, else results/: run it once that grid's LRLC tuning is done), or with
# -first-layer-combining-lr-100 or -middle-layer-combining-lr-100 (LRLC of ranks 1 and 4 in
# that layer only, the same logits, tuned on their own: the plain grid has no such family),
# or with -wide-conv (the convolution widened in one layer only for rank 4, the last, the
# first and the middle: the one-layer runs' position-or-capacity controls, tuned on their
# own like every family of the plain grid). Each grid starts from
# its committed results/partial/<grid>.json, else results/<grid>.json (so a grid grows over
# several calls; a grid is committed to results/partial/ until it is whole, so that the
# chapters keep showing the complete CPU-scale grid until then), runs in its own
# process (these small networks leave most of the GPU idle, so several at once finish
# sooner), starts no run it expects to end after MINUTES (`--time-limit`), and writes
# $OUT/<grid>.json after every run; $OUT/logs.txt gathers the logs. With several grids,
# every run records that the GPU was shared, so its images/s is not an idle GPU's speed. A grid still busy a
# minute after MINUTES is killed (its file keeps every finished run): give the device call
# a timeout of at least MINUTES + 2 minutes. Each grid trains GRID_WORKERS runs at a time
# (`--workers`; default 12 shared out among the grids: the GPU idles while one process
# prepares its next step). GRID_ARGS adds options to every grid (e.g.
# "--layers conv,lrlc:4", or "--quick --epochs 1" for a smoke test). Copy the files back
# into results/ and commit them.
set -uo pipefail
cd "$(dirname "$0")/.."
minutes=${1:?usage: bash .ci/gpu_grids.sh MINUTES GRID...}
shift
[ $# -gt 0 ] || { echo "name at least one grid" >&2; exit 2; }
out=${OUT:?set OUT to the folder for the results files}
logs=$(mktemp -d)
. .ci/gpu_env.sh
export OMP_NUM_THREADS=2
guard=$(python3 -c "print(int(60 * float('$minutes')) + 60)")  # seconds: MINUTES may be 6.5
workers=${GRID_WORKERS:-$(( 12 / $# > 0 ? 12 / $# : 1 ))}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
plain_grid_file() {  # the freshest file of the plain grid a faster-logits grid copies
    local from
    for from in "$out/$1.json" "results/partial/$1.json" "results/$1.json"; do
        [ -f "$from" ] && break
    done
    echo "$from"
}
run_grid() {  # one grid, its log in $logs/<grid>.log
    local grid=$1 args=("$1")
    shift
    [ "$grid" = celeba-attributes ] && args=(celeba --attributes)
    case $grid in  # faster combining logits, at the lr and weight decay the plain grid chose
        *-first-layer-combining-lr-100 | *-middle-layer-combining-lr-100)
            local where=${grid%-layer-combining-lr-100}
            where=${where##*-}  # first or middle
            args=("${grid%-"$where"-layer-combining-lr-100}" --layers "lrlc@$where:1/4"
                  --combining-lr-scale 100) ;;
        *-last-layer-combining-lr-100)
            local base=${grid%-last-layer-combining-lr-100}
            args=("$base" --layers lrlc@last:4 --combining-lr-scale 100
                  --chosen-from "$(plain_grid_file "$base")") ;;
        *-combining-lr-100)
            local base=${grid%-combining-lr-100}
            args=("$base" --layers lrlc:2/4/8/16 --combining-lr-scale 100
                  --chosen-from "$(plain_grid_file "$base")") ;;
        *-wide-conv)  # the plain grid's command, one more variant: no --chosen-from needed
            args=("${grid%-wide-conv}" --layers wide_conv@last:4,wide_conv@first:4,wide_conv@middle:4) ;;
    esac
    local start
    for start in "results/partial/$grid.json" "results/$grid.json"; do
        [ -f "$start" ] && { cp "$start" "$out/$grid.json"; break; }
    done
    # The grid stops starting runs by itself; the timeout only guards against a hang.
    local note=()
    [ $# -gt 1 ] && note=(--run-note "one of $# grids run side by side on the GPU ($*): images/s is not an idle GPU's")
    # shellcheck disable=SC2086
    timeout "$guard" python3 -m lrlc.experiments "${args[@]}" \
        --time-limit "$minutes" --no-progress --out "$out/$grid.json" --workers "$workers" ${GRID_ARGS:-} \
        "${note[@]}" >"$logs/$grid.log" 2>&1
    local status=$?
    [ $status = 124 ] && echo "KILLED after $guard s (a run outlasted its estimate)" >>"$logs/$grid.log"
    [ $status != 0 ] && echo "exit status $status" >>"$logs/$grid.log"
}
for grid in "$@"; do
    run_grid "$grid" "$@" &
done
wait
for grid in "$@"; do
    echo "===== $grid"
    cat "$logs/$grid.log"
done >"$out/logs.txt"
for grid in "$@"; do
    echo "===== $grid: $(grep -c '^\[run\]' "$logs/$grid.log") runs, $(grep -c '^\[tune\]' "$logs/$grid.log") tuning runs"
    tail -n 4 "$logs/$grid.log"
done
