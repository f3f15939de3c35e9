#!/usr/bin/env bash
# Training on Slurm with srun.
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG [train.py args...]
# GPUS (total), GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS may be set;
# SYNC_BN=1 (or torch / mmcv) converts BatchNorm to SyncBatchNorm.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [args...]" >&2
    exit 2
fi
PARTITION="$1"
JOB_NAME="$2"
CONFIG="$3"
shift 3
GPUS="${GPUS:-8}"
GPUS_PER_NODE="${GPUS_PER_NODE:-8}"
CPUS_PER_TASK="${CPUS_PER_TASK:-5}"
TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXTRA_ARGS=()
case "${SYNC_BN:-0}" in
    0 | "" | false) ;;
    1 | true | torch) EXTRA_ARGS+=(--cfg-options sync_bn=torch) ;;
    mmcv) EXTRA_ARGS+=(--cfg-options sync_bn=mmcv) ;;
    *) echo "SYNC_BN must be 0, 1, torch or mmcv, got '$SYNC_BN'" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086  # SRUN_ARGS is a list of flags on purpose
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres="gpu:$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS:-} \
    "${PYTHON:-python}" -u "$TOOLS_DIR/train.py" "$CONFIG" --launcher slurm \
    ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} "$@"
