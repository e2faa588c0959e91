#!/usr/bin/env bash
# One short GPU check for a CUDA server: training throughput of the seed loop vs this engine on a SciBERT-shaped
# model (random weights), with model FLOPs utilisation ("ratio: <N>x"); then suggestions for the 121 reports with the
# embedded model in fp32 and bf16 (last line "predict: N sentences/s ...").
#   bash benchmarks/gpu_check.sh [PEAK_TFLOPS]   (default 989: H100 SXM dense bf16)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
"$PY" benchmarks/train_speed.py --model scibert-shaped --device cuda --bf16 both \
  --seed-sentences 400 --engine-sentences 8000 --batch-size 64 --peak-tflops "${1:-989}"
"$PY" benchmarks/predict_speed.py --device cuda --bf16 both
