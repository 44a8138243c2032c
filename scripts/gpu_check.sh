#!/usr/bin/env bash
# One prepared GPU measurement of the paper profile (see scripts/gpu_check.py).
# Usage (repository root, virtualenv with CUDA torch):  scripts/gpu_check.sh [--compile]
# Results: $OUT/gpu_check.json (OUT defaults to var/gpu_check). Budget: about 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
export OUT="${OUT:-var/gpu_check}"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,power.limit --format=csv | tee "$OUT/nvidia-smi.csv" || true
"$PY" -c "import torch, timm; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'timm', timm.__version__)"
timeout 540 "$PY" scripts/gpu_check.py --output "$OUT" "$@" 2>&1 | tee "$OUT/gpu_check.log"
