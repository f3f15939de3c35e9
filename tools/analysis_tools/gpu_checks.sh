#!/usr/bin/env bash
# Every GPU check and benchmark of issue 11 in one go, for a session that is lent a GPU.
#
#   tools/analysis_tools/gpu_checks.sh [OUT_DIR]      (default: $OUT, else work_dirs/gpu_checks)
#
# 1. the CUDA tests (tests that skip without CUDA);
# 2. catr_pvt_s4, 2 clips x 5 x 448 x 448: reference path against catravs' path, float32
#    and float16 AMP (goal: speedup >= 2x, memory <= 0.5x);
# 3. catr_pvt_avss, 10 frames, 2 clips: peak memory with and without AMP (goal: < 24 GB);
# 4. inference clips/s and frames/s of catr_pvt_s4 and catr_pvt_avss.
# Each step writes OUT_DIR/<name>.txt (what the tool printed) and OUT_DIR/<name>.json;
# OUT_DIR/summary.txt collects the last lines. A failing step does not stop the others.
set -u
OUT_DIR=${1:-${OUT:-work_dirs/gpu_checks}}
mkdir -p "$OUT_DIR"
PYTHON=${PYTHON:-python}
BENCH="$PYTHON tools/analysis_tools/benchmark.py"
SUMMARY="$OUT_DIR/summary.txt"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
  $PYTHON -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
} > "$SUMMARY" 2>&1

run() {  # run NAME COMMAND...
  local name=$1; shift
  echo "== $name: $*" | tee -a "$SUMMARY"
  "$@" > "$OUT_DIR/$name.txt" 2>&1
  echo "rc=$? $(tail -n 1 "$OUT_DIR/$name.txt")" | tee -a "$SUMMARY"
}

run cuda_tests $PYTHON -m pytest -q -rs tests/models/test_cuda_paths.py \
  tests/evaluation/test_cuda_inputs.py tests/apis/test_inference_model.py
S4=configs/catr/catr_pvt_s4.py
AVSS=configs/catr/catr_pvt_avss.py
run s4_train_fp32 $BENCH $S4 --device cuda --clips 2 --shape 5 448 448 --steps 10 \
  --warmup 3 --compare-reference --rounds 2 --json-out "$OUT_DIR/s4_train_fp32.json"
run s4_train_amp $BENCH $S4 --device cuda --clips 2 --shape 5 448 448 --steps 10 \
  --warmup 3 --compare-reference --rounds 2 --amp --json-out "$OUT_DIR/s4_train_amp.json"
run s4_train_amp_cp $BENCH $S4 --device cuda --clips 2 --shape 5 448 448 --steps 10 \
  --warmup 3 --amp --with-cp --json-out "$OUT_DIR/s4_train_amp_cp.json"
run avss_train_fp32 $BENCH $AVSS --device cuda --clips 2 --steps 5 --warmup 2 \
  --json-out "$OUT_DIR/avss_train_fp32.json"
run avss_train_amp $BENCH $AVSS --device cuda --clips 2 --steps 5 --warmup 2 --amp \
  --json-out "$OUT_DIR/avss_train_amp.json"
run s4_test $BENCH $S4 --device cuda --task test --clips 2 --steps 20 --warmup 5 \
  --compare-reference --json-out "$OUT_DIR/s4_test.json"
run s4_test_amp $BENCH $S4 --device cuda --task test --clips 2 --steps 20 --warmup 5 \
  --amp --json-out "$OUT_DIR/s4_test_amp.json"
run avss_test_amp $BENCH $AVSS --device cuda --task test --clips 2 --steps 10 --warmup 3 \
  --amp --json-out "$OUT_DIR/avss_test_amp.json"
echo "done; figures in $OUT_DIR" | tee -a "$SUMMARY"
