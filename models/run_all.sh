#!/usr/bin/env bash
# Reproduces every shipped model and result (CPU, 2 cores: ~15 min for a 20-epoch run).
# 48 bits and its ablation: 20 epochs; 16/32/64 bits: the same recipe with 12 epochs (time budget).
# Run from the repository root:  bash models/run_all.sh
set -euo pipefail
mkdir -p models/logs
run() { local log=$1; shift; python -m models.ssdh.train "$@" 2>&1 | tee "models/logs/$log.log"; }
if [ "${SKIP_48:-0}" != 1 ]; then
  run train-48 --bits 48 --epochs 20 --out models/reference/ssdh-fmnist-48.onnx
fi
# Ablation: the same recipe without the two hash terms; kept out of models/reference/.
run train-48-ablation --bits 48 --alpha 0 --beta 0 --epochs 20 --out models/ablation/ssdh-fmnist-48-a0b0.onnx
for k in 64 32 16; do
  run train-$k --bits $k --epochs 12 --out models/reference/ssdh-fmnist-$k.onnx
done
python -m models.ssdh.samples            # sample PNGs, labels.csv, expected-code fixtures
python -m models.ssdh.report             # models/RESULTS.md tables from the *.eval.json files
