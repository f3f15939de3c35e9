#!/usr/bin/env bash
# The GPU checks of issue 19 in one go, most important first: what the first H200 run
# (2026-12-04, docs/benchmark.md) left open comes first.
#
#   tools/analysis_tools/gpu_checks.sh [OUT_DIR]      (default: $OUT, else work_dirs/gpu_checks)
#   DRY_RUN=1 tools/analysis_tools/gpu_checks.sh      (the same commands on the CPU, tiny)
#
#  1. catr_pvt_avss, 2 clips, float16 AMP with activation checkpointing (--with-cp), then
#     without: peak memory (goal: <= 24 GB; without --with-cp it was 31.3 GiB);
#  2. catr_pvt_s4, the released setting (PVT-v2-b5, 2 clips x 5 x 448 x 448): reference
#     path (float32, as released) against catravs' path with float16 AMP
#     (goal: speedup >= 2x, memory <= 0.5x);
#  3. the CUDA tests (tests that skip without CUDA);
#  4. catr_r50_s4 AMP in channels_last (its config's default) and contiguous; the train
#     loader's clips/s with 4 and 8 workers;
#  5. tools/dist_train.sh, one process, nccl, 2 iterations of a tiny config on generated data;
#  6. step 2's catravs run with the forward compiled as one graph (fullgraph): first step
#     (the compilation: over 200 s at the first run, so it has COMPILE_TIMEOUT_S, default
#     420) and step time, against the eager figure of step 2;
#  7. catr_pvt_s4 with bfloat16 AMP; catr_pvt_avss in float32; an AVSegFormer step.
# Each step writes OUT_DIR/<name>.txt (what it printed); OUT_DIR/summary.txt collects the
# figures. Every step has a timeout, and a step that would start after BUDGET_S seconds
# (default 400) is skipped, so the whole script stays within its budget.
# A failing step does not stop the others.
set -u
cd "$(dirname "$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")")"
OUT_DIR=${1:-${OUT:-work_dirs/gpu_checks}}
mkdir -p "$OUT_DIR"
PYTHON=${PYTHON:-python}
BUDGET_S=${BUDGET_S:-400}
TIMEOUT_SCALE=1  # a DRY_RUN on a small CPU: 6 times the time
[[ "${DRY_RUN:-0}" == 1 ]] && BUDGET_S=${BUDGET_S_DRY:-2400} && TIMEOUT_SCALE=6
SUMMARY="$OUT_DIR/summary.txt"
BENCH=("$PYTHON" tools/analysis_tools/benchmark.py)
S4=configs/catr/catr_pvt_s4.py
AVSS=configs/catr/catr_pvt_avss.py
R50=configs/catr/catr_r50_s4.py; R50_OFF=(--cfg-options model.channels_last=False)
AVSEGFORMER=configs/avsegformer/avsegformer_pvt_s4.py
if [[ "${DRY_RUN:-0}" == 1 ]]; then  # the same commands, on the CPU and tiny
  DEV=(--device cpu); S4=configs/catr/catr_tiny_synthavs.py; AVSS=$S4; R50=$S4; R50_OFF=()
  AVSEGFORMER=configs/avsegformer/avsegformer_tiny_synthavs.py
  BIG=(--clips 1 --shape 2 64 64); AVSS_SHAPE=(--shape 2 64 64); STEPS=(--steps 1 --warmup 1)
else
  DEV=(--device cuda); BIG=(--clips 2 --shape 5 448 448); AVSS_SHAPE=(); STEPS=(--steps 5 --warmup 2)
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PYTHON -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
} > "$SUMMARY" 2>&1

run() {  # run NAME TIMEOUT_S COMMAND...: skipped once BUDGET_S has passed
  local name=$1 limit=$(($2 * TIMEOUT_SCALE)); shift 2
  local left=$((BUDGET_S - SECONDS))
  if (( left < 20 )); then
    echo "== $name: skipped (time budget of ${BUDGET_S}s spent)" | tee -a "$SUMMARY"
    return
  fi
  (( limit > left )) && limit=$left
  echo "== $name (timeout ${limit}s): $*" | tee -a "$SUMMARY"
  local start=$SECONDS
  timeout -k 10 "$limit" "$@" > "$OUT_DIR/$name.txt" 2>&1
  local rc=$?
  # the figures: table rows, the speedup line, pytest's last line, the errors
  grep -E '^\| |^speedup|passed|failed|skipped|Error|error:' "$OUT_DIR/$name.txt" \
    | grep -v '^| path' | tail -n 12 >> "$SUMMARY"
  echo "rc=$rc ($((SECONDS - start))s)" | tee -a "$SUMMARY"
}

run avss_amp_with_cp 70 "${BENCH[@]}" "$AVSS" "${DEV[@]}" --clips 2 "${AVSS_SHAPE[@]}" \
  --steps 2 --warmup 1 --amp --amp-dtype float16 --with-cp \
  --json-out "$OUT_DIR/avss_amp_with_cp.json"
run avss_amp_memory 70 "${BENCH[@]}" "$AVSS" "${DEV[@]}" --clips 2 "${AVSS_SHAPE[@]}" \
  --steps 2 --warmup 1 --amp --amp-dtype float16 --json-out "$OUT_DIR/avss_amp_memory.json"
run s4_amp_vs_reference 150 "${BENCH[@]}" "$S4" "${DEV[@]}" "${BIG[@]}" "${STEPS[@]}" \
  --compare-reference --amp --amp-dtype float16 --json-out "$OUT_DIR/s4_amp_vs_reference.json"
if [[ "${DRY_RUN:-0}" != 1 ]]; then
  run cuda_tests 100 "$PYTHON" -m pytest -q -rs -p no:cacheprovider \
    tests/models/test_cuda_paths.py tests/engine/test_amp.py \
    tests/evaluation/test_cuda_inputs.py tests/apis/test_inference_model.py
fi
# the ResNet-50 configs build the model in channels_last: on, then off
run r50_amp_channels_last 60 "${BENCH[@]}" "$R50" "${DEV[@]}" "${BIG[@]}" --steps 3 --warmup 1 \
  --amp --amp-dtype float16 --json-out "$OUT_DIR/r50_amp_channels_last.json"
run r50_amp_contiguous 60 "${BENCH[@]}" "$R50" "${DEV[@]}" "${BIG[@]}" --steps 3 --warmup 1 \
  --amp --amp-dtype float16 --json-out "$OUT_DIR/r50_amp_contiguous.json" "${R50_OFF[@]}"
# one process through the launcher: nccl with CUDA (gloo in a DRY_RUN)
SYNTH="$(readlink -f "$OUT_DIR")/synth_s4"
cat > "$OUT_DIR/dist_tiny.py" <<EOF
_base_ = ['$PWD/configs/catr/catr_tiny_synthavs.py']
data_root = '$SYNTH'
_loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=2, **_loader, dataset=dict(data_root=data_root))
val_dataloader = dict(**_loader, dataset=dict(data_root=data_root))
test_dataloader = dict(**_loader, dataset=dict(data_root=data_root))
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
EOF
run make_synth 40 "$PYTHON" tools/dataset_converters/make_synthavs.py --subset s4 \
  --out "$SYNTH" --num-train 4 --num-val 2 --num-test 2 --size 32 --seed 0
run dist_train_1proc 90 env PORT=$((29500 + RANDOM % 2000)) PYTHON="$PYTHON" \
  tools/dist_train.sh "$OUT_DIR/dist_tiny.py" 1 --work-dir "$OUT_DIR/dist_train"
grep -hoE "backend'?: ?'?(nccl|gloo)|Distributed training: (True|False)|Epoch\(train\) *\[1\]\[2/2\].* loss: [0-9.]+" \
  "$OUT_DIR/dist_train_1proc.txt" | sort -u | head -n 4 >> "$SUMMARY"
# train loader clips/s with 4 and 8 workers (SynthAVS at 224 in the S4 layout; DRY_RUN: the
# clips generated above)
DATA_ARGS=(); [[ "${DRY_RUN:-0}" == 1 ]] && DATA_ARGS=(--data-root "$SYNTH")
for workers in 4 8; do
  run "s4_data_workers$workers" 60 "${BENCH[@]}" "$S4" --task data --workers "$workers" \
    --steps 10 --warmup 2 "${DATA_ARGS[@]}" --json-out "$OUT_DIR/s4_data_workers$workers.json"
done
run s4_amp_compiled "${COMPILE_TIMEOUT_S:-420}" "${BENCH[@]}" "$S4" "${DEV[@]}" "${BIG[@]}" "${STEPS[@]}" \
  --amp --amp-dtype float16 --compile --json-out "$OUT_DIR/s4_amp_compiled.json"
run s4_bf16_amp 60 "${BENCH[@]}" "$S4" "${DEV[@]}" "${BIG[@]}" --steps 3 --warmup 1 \
  --amp --amp-dtype bfloat16 --json-out "$OUT_DIR/s4_bf16_amp.json"
run avss_fp32_memory 60 "${BENCH[@]}" "$AVSS" "${DEV[@]}" --clips 2 "${AVSS_SHAPE[@]}" \
  --steps 2 --warmup 1 --json-out "$OUT_DIR/avss_fp32_memory.json"
# its own frames and size (5 x 512 x 512); DRY_RUN: the tiny AVSegFormer at AVSS_SHAPE
run avsegformer_amp 60 "${BENCH[@]}" "$AVSEGFORMER" "${DEV[@]}" --clips 2 "${AVSS_SHAPE[@]}" \
  --steps 3 --warmup 1 --amp --amp-dtype float16 --json-out "$OUT_DIR/avsegformer_amp.json"
echo "done in ${SECONDS}s; figures in $OUT_DIR" | tee -a "$SUMMARY"
