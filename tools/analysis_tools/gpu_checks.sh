#!/usr/bin/env bash
# Measure on one GPU, in one call of at most 10 minutes, what docs/benchmark.md reports for
# the GPU, most important first:
#
#   tools/analysis_tools/gpu_checks.sh [OUT_DIR]      (default: $OUT, else work_dirs/gpu_checks)
#   DRY_RUN=1 tools/analysis_tools/gpu_checks.sh      (the same commands on the CPU, tiny)
#
#  1. catr_pvt_s4 at the released setting (PVT-v2-b5, 2 clips x 5 x 448 x 448): the
#     reference path against catravs' path at the same precision, float16 AMP against
#     float16 AMP (the reference under autocast without a GradScaler, as the released
#     train.py), then float32 against float32: step time, peak memory, FLOPs per step,
#     TFLOP/s and the fraction of the card's dense peak, host syncs per step
#     (goal: speedup >= 2x, memory <= 0.5x, >= 25% of peak with the best path);
#  2. catr_pvt_avss, 2 clips x 10 x 448, float16 AMP with activation checkpointing
#     (--with-cp): peak memory (goal: <= 24 GB) and step time;
#  3. the CUDA tests (tests that skip without CUDA);
#  4. step 1's catravs run compiled regionally (each repeated block: bounded compile time):
#     first step (the compilation; goal <= 120 s) and step time against step 1's eager one;
#  5. AVSegFormer PVT S4 (2 clips x 5 x 512) against its reference path, float16 AMP; and
#     TPAVI where configs/tpavi exists;
#  6. the train loader's clips/s with 4 and 8 workers (SynthAVS at 224, S4 layout), to set
#     against step 1's clips/s; catr_r50_s4 AMP in channels_last (its configs' default)
#     and contiguous;
#  7. step 1's catravs run with the fused Adam (--optim-impl fused) and with bfloat16 AMP;
#     catr_pvt_avss float16 AMP without --with-cp;
#  8. step 1's catravs run with the forward compiled as one graph (fullgraph), under
#     COMPILE_TIMEOUT_S (default 200);
#  9. tools/dist_train.sh, one process, nccl, 2 iterations of a tiny config on generated data.
# Each step writes OUT_DIR/<name>.txt (what it printed) and, for the benchmarks, a JSON;
# OUT_DIR/summary.txt collects the figures. Every step has a timeout, and a step that would
# start after BUDGET_S seconds (default 570) is skipped, so the whole script stays within
# its budget. A failing step does not stop the others.
set -u
cd "$(dirname "$(dirname "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")")")"
OUT_DIR=${1:-${OUT:-work_dirs/gpu_checks}}
mkdir -p "$OUT_DIR"
PYTHON=${PYTHON:-python}
BUDGET_S=${BUDGET_S:-570}
TIMEOUT_SCALE=1  # a DRY_RUN on a small CPU: 6 times the time
[[ "${DRY_RUN:-0}" == 1 ]] && BUDGET_S=${BUDGET_S_DRY:-2400} && TIMEOUT_SCALE=6
SUMMARY="$OUT_DIR/summary.txt"
BENCH=("$PYTHON" tools/analysis_tools/benchmark.py)
S4=configs/catr/catr_pvt_s4.py
AVSS=configs/catr/catr_pvt_avss.py
R50=configs/catr/catr_r50_s4.py; R50_OFF=(--cfg-options model.channels_last=False)
AVSEGFORMER=configs/avsegformer/avsegformer_pvt_s4.py
TPAVI=$(ls configs/tpavi/*pvt*s4*.py 2>/dev/null | head -n 1)
if [[ "${DRY_RUN:-0}" == 1 ]]; then  # the same commands, on the CPU and tiny
  DEV=(--device cpu); S4=configs/catr/catr_tiny_synthavs.py; AVSS=$S4; R50=$S4; R50_OFF=()
  AVSEGFORMER=configs/avsegformer/avsegformer_tiny_synthavs.py
  TPAVI=$(ls configs/tpavi/*tiny*.py 2>/dev/null | head -n 1)
  BIG=(--clips 1 --shape 2 64 64); AVSS_SHAPE=(--shape 2 64 64); OWN_SHAPE=(--shape 2 64 64)
  STEPS=(--steps 1 --warmup 1)
else
  DEV=(--device cuda); BIG=(--clips 2 --shape 5 448 448); AVSS_SHAPE=(); OWN_SHAPE=()
  STEPS=(--steps 5 --warmup 2)
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
  # the figures: table rows, the speedup line, syncs and optimizer lines, pytest's last
  # line, the errors
  grep -E '^\| |^speedup|host syncs per step|optimizer step|passed|failed|skipped|Error|error:' \
    "$OUT_DIR/$name.txt" | grep -v '^| path' | tail -n 12 >> "$SUMMARY"
  echo "rc=$rc ($((SECONDS - start))s)" | tee -a "$SUMMARY"
}

bench() {  # bench NAME TIMEOUT_S CONFIG ARGS...: benchmark.py with its JSON in OUT_DIR
  local name=$1 limit=$2 config=$3; shift 3
  run "$name" "$limit" "${BENCH[@]}" "$config" "${DEV[@]}" "$@" --json-out "$OUT_DIR/$name.json"
}

# 1. the released setting, like for like
bench s4_amp_vs_reference 120 "$S4" "${BIG[@]}" "${STEPS[@]}" --compare-reference \
  --amp --amp-dtype float16
bench s4_fp32_vs_reference 120 "$S4" "${BIG[@]}" "${STEPS[@]}" --compare-reference
# 2. AVSS within 24 GB
bench avss_amp_with_cp 70 "$AVSS" --clips 2 "${AVSS_SHAPE[@]}" --steps 2 --warmup 1 \
  --amp --amp-dtype float16 --with-cp
# 3. the CUDA tests
if [[ "${DRY_RUN:-0}" != 1 ]]; then
  run cuda_tests 100 "$PYTHON" -m pytest -q -rs -p no:cacheprovider \
    tests/models/test_cuda_paths.py tests/engine/test_amp.py \
    tests/evaluation/test_cuda_inputs.py tests/apis/test_inference_model.py
fi
# 4. compiled in bounded time
bench s4_amp_compiled_regional 150 "$S4" "${BIG[@]}" "${STEPS[@]}" --amp --amp-dtype float16 \
  --compile regional
# 5. the other methods at their own frames and size (DRY_RUN: the tiny configs)
bench avsegformer_amp_vs_reference 100 "$AVSEGFORMER" --clips 2 "${OWN_SHAPE[@]}" \
  --steps 3 --warmup 1 --compare-reference --amp --amp-dtype float16
if [[ -n "$TPAVI" ]]; then
  bench tpavi_amp_vs_reference 100 "$TPAVI" --clips 2 "${OWN_SHAPE[@]}" --steps 3 --warmup 1 \
    --compare-reference --amp --amp-dtype float16
fi
# 6. does the GPU wait for data? channels_last for the ResNet-50 configs?
SYNTH="$(readlink -f "$OUT_DIR")/synth_s4"
DATA_ARGS=(); [[ "${DRY_RUN:-0}" == 1 ]] && DATA_ARGS=(--data-root "$SYNTH")
if [[ "${DRY_RUN:-0}" == 1 ]]; then  # generated in the S4 layout; the GPU run generates its own
  run make_synth 40 "$PYTHON" tools/dataset_converters/make_synthavs.py --subset s4 \
    --out "$SYNTH" --num-train 4 --num-val 2 --num-test 2 --size 32 --seed 0
fi
for workers in 4 8; do
  run "s4_data_workers$workers" 45 "${BENCH[@]}" "$S4" --task data --workers "$workers" \
    --steps 10 --warmup 2 "${DATA_ARGS[@]}" --json-out "$OUT_DIR/s4_data_workers$workers.json"
done
bench r50_amp_channels_last 50 "$R50" "${BIG[@]}" --steps 3 --warmup 1 --amp --amp-dtype float16
bench r50_amp_contiguous 50 "$R50" "${BIG[@]}" --steps 3 --warmup 1 --amp --amp-dtype float16 \
  "${R50_OFF[@]}"
# 7. the optimizer, bfloat16, AVSS without checkpointing
bench s4_amp_fused_adam 50 "$S4" "${BIG[@]}" --steps 3 --warmup 1 --amp --amp-dtype float16 \
  --optim-impl fused
bench s4_bf16_amp 50 "$S4" "${BIG[@]}" --steps 3 --warmup 1 --amp --amp-dtype bfloat16
bench avss_amp_memory 60 "$AVSS" --clips 2 "${AVSS_SHAPE[@]}" --steps 2 --warmup 1 \
  --amp --amp-dtype float16
# 8. the whole forward as one graph
bench s4_amp_compiled_forward "${COMPILE_TIMEOUT_S:-200}" "$S4" "${BIG[@]}" "${STEPS[@]}" \
  --amp --amp-dtype float16 --compile forward
# 9. one process through the launcher: nccl with CUDA (gloo in a DRY_RUN)
if [[ ! -d "$SYNTH" ]]; then
  run make_synth 40 "$PYTHON" tools/dataset_converters/make_synthavs.py --subset s4 \
    --out "$SYNTH" --num-train 4 --num-val 2 --num-test 2 --size 32 --seed 0
fi
cat > "$OUT_DIR/dist_tiny.py" <<PYEOF
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
PYEOF
run dist_train_1proc 90 env PORT=$((29500 + RANDOM % 2000)) PYTHON="$PYTHON" \
  tools/dist_train.sh "$OUT_DIR/dist_tiny.py" 1 --work-dir "$OUT_DIR/dist_train"
grep -hoE "backend'?: ?'?(nccl|gloo)|Distributed training: (True|False)|Epoch\(train\) *\[1\]\[2/2\].* loss: [0-9.]+" \
  "$OUT_DIR/dist_train_1proc.txt" 2>/dev/null | sort -u | head -n 4 >> "$SUMMARY"
echo "done in ${SECONDS}s; figures in $OUT_DIR" | tee -a "$SUMMARY"
