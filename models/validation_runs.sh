#!/usr/bin/env bash
# Issue 16's model-selection runs under the validation protocol (models/RESULTS.md, "Model
# selection"): each trains on the 55,000 training images outside the validation split and is
# evaluated on the split only (<stem>.val.json; no test numbers). Run from the repository root
# with the training venv:  PY=.venv-train/bin/python bash models/validation_runs.sh [NAME...]
# (names below; none = all, in order). CPU: about 40 s an epoch on 2 idle cores, so one
# 45 + 4 epoch recipe is ~35 min; a GPU (the trainer uses CUDA when present) makes each run a
# minute or two. Then `python -m models.ssdh.report` lists them in RESULTS.md.
#
# Candidates: R = the shipped 48-bit recipe (45 epochs augmented, then 4 clean at lr 3e-4), at
# every code length (does 64 reach 48's quality with 48's training length?), 3 seeds at 48,
# and stronger balance terms (beta 3, 10) for bit health; 12, 24 and 36 bits line up with the
# QSMI paper's 12/24/36/48 table. The choice reads only .val.json.
# TRAIN_EXTRA (e.g. "--threads 1", for two runs side by side on 2 cores) is appended to each
# trainer command, as in validation_studies.sh.
# FIRST_STAGE_ONLY=1 trains only the 45 augmented epochs, for a second stage that
# models/validation_studies.sh runs instead of the one here. First-stage checkpoints go to
# models/checkpoints/val-<name>-e45.pt, which is committed (about 1.8 MB each): a first stage is
# 35 CPU minutes here and CPU reruns are close but not bit for bit (models/results_notes.md), so
# a later session's second stage must start from the very weights the earlier studies did.
set -euo pipefail
PY=${PY:-python}
mkdir -p models/logs models/validation models/runs models/checkpoints
stage() {  # name bits seed beta
  local name=$1 bits=$2 seed=$3 beta=$4
  local ck=models/checkpoints/val-$name-e45.pt
  $PY -m models.ssdh.train --bits "$bits" --seed "$seed" --beta "$beta" --epochs 45 --clean-epochs 0 \
    --checkpoint "$ck" --eval none --out "models/validation/$name-e45.onnx" ${TRAIN_EXTRA:-} 2>&1 | tee "models/logs/val-$name-e45.log"
  rm -f "models/validation/$name-e45.onnx"
  [[ ${FIRST_STAGE_ONLY:-0} == 1 ]] && return
  $PY -m models.ssdh.train --bits "$bits" --seed "$seed" --beta "$beta" --init "$ck" --epochs 4 --clean-epochs 4 \
    --lr 3e-4 --eval val --out "models/validation/$name.onnx" ${TRAIN_EXTRA:-} 2>&1 | tee "models/logs/val-$name.log"
  # Only the JSON is committed; the final model stays in models/runs (ignored) so a run chosen on
  # validation can be shipped as is (evaluated on test once), without training it again.
  mv -f "models/validation/$name.onnx" "models/runs/val-$name.onnx"
}
declare -A RUNS=(
  [r48-s0]="48 0 1" [r48-s1]="48 1 1" [r48-s2]="48 2 1"
  [r64-s0]="64 0 1" [r64-s1]="64 1 1" [r64-s2]="64 2 1" [r32-s0]="32 0 1" [r16-s0]="16 0 1"
  [r32-s1]="32 1 1" [r32-s2]="32 2 1"
  [r48-b3-s0]="48 0 3" [r48-b10-s0]="48 0 10"
  [r12-s0]="12 0 1" [r24-s0]="24 0 1" [r36-s0]="36 0 1"
)
ORDER=(r48-s0 r64-s0 r32-s0 r16-s0 r48-b3-s0 r48-b10-s0 r48-s1 r48-s2)
for name in "${@:-${ORDER[@]}}"; do
  # shellcheck disable=SC2086
  stage "$name" ${RUNS[$name]}
done
