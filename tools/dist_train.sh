#!/usr/bin/env bash
# Distributed training with torchrun.
#   tools/dist_train.sh CONFIG GPUS [train.py args...]
#   tools/dist_train.sh GPUS [train.py args...]        (trains the default config)
# Multi-node: set NNODES, NODE_RANK, MASTER_ADDR and PORT on every node.
# SYNC_BN=1 (or torch / mmcv): convert BatchNorm to SyncBatchNorm (needs CUDA).
# PYTHON: the interpreter (default: python). Without CUDA the processes talk gloo.
set -euo pipefail

DEFAULT_CONFIG="configs/catr/catr_pvt_avss.py"
TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ $# -ge 1 && "$1" =~ ^[0-9]+$ ]]; then
    CONFIG="$(dirname "$TOOLS_DIR")/$DEFAULT_CONFIG"
    GPUS="$1"
    shift 1
elif [[ $# -ge 2 ]]; then
    CONFIG="$1"
    GPUS="$2"
    shift 2
else
    echo "usage: $0 CONFIG GPUS [args...]  or  $0 GPUS [args...]" >&2
    exit 2
fi
if ! [[ "$GPUS" =~ ^[0-9]+$ ]] || [[ "$GPUS" -lt 1 ]]; then
    echo "GPUS must be a positive integer, got '$GPUS'" >&2
    exit 2
fi

NNODES="${NNODES:-1}"
NODE_RANK="${NODE_RANK:-0}"
PORT="${PORT:-29500}"
MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"
PYTHON="${PYTHON:-python}"

EXTRA_ARGS=()
case "${SYNC_BN:-0}" in
    0 | "" | false) ;;
    1 | true | torch) EXTRA_ARGS+=(--cfg-options sync_bn=torch) ;;
    mmcv) EXTRA_ARGS+=(--cfg-options sync_bn=mmcv) ;;
    *) echo "SYNC_BN must be 0, 1, torch or mmcv, got '$SYNC_BN'" >&2; exit 2 ;;
esac

exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$GPUS" \
    "$TOOLS_DIR/train.py" "$CONFIG" --launcher pytorch ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} "$@"
