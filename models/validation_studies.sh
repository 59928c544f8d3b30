#!/usr/bin/env bash
# Issue 16's second-stage studies under the validation protocol, each from a first stage that
# models/validation_runs.sh trained (models/checkpoints/val-<run>-e45.pt, committed; first
# stages trained before 2026-12-04 left theirs in models/runs/, ignored, and most are gone): what the clean stage
# buys over none and over 4 more augmented epochs, a longer clean stage, and the balance weight
# beta in the clean stage (bit health). r48-s1/s2-clean8 are the other seeds of the 8-clean-epoch
# stage at 48 bits (the 48-bit choice, for its seed spread), r64-s1/s2-clean8 the same at 64
# bits (64 bits fell below 48 on validation, so it gets 48's best-of-3-seeds too); their first
# stages: FIRST_STAGE_ONLY=1 bash models/validation_runs.sh r48-s1 r48-s2 r64-s1 r64-s2.
# r48-b3-s0-clean8 is the 48-bit choice's recipe with beta 3 in both stages (the firing rates
# are set in the first stage, so a clean-stage beta alone cannot move them); r16/r32-s0-clean8 the
# 8-clean-epoch stage at the lengths that had only recipe R, r12/r24/r36-s0-clean8 at the QSMI
# lengths, beside recipe R's (validation_runs.sh); r64-s2-clean16 a 16-epoch clean stage (8 had
# beaten 4 at 48 and 64 bits, so the length was not bracketed yet), and r32-s0-clean16 the same
# at 32 bits (the shipped 32-bit model had recipe R's 4 clean epochs only) and 48 bits (after
# it won at 32 too: 0.9410 on validation); r48-s1/s2-clean16 are its other two seeds at 48 bits,
# for the best-of-3-seeds rule there, and r64-s0/s1-clean16 the same at 64 bits (owed by the
# rule once 48's best of three, 0.9422, beat 64's single seed on validation). A few
# minutes each on 2 CPU cores; validation only, like the runs (models/RESULTS.md, "Model
# selection").
#   PY=.venv-train/bin/python bash models/validation_studies.sh [NAME...]
# TRAIN_EXTRA (e.g. "--threads 1", for two studies side by side on 2 cores) is appended to each
# trainer command; the .train.json records what was used.
set -euo pipefail
PY=${PY:-python}
mkdir -p models/logs models/validation models/runs
study() {  # name first-stage-run extra-trainer-arguments...
  local name=$1 from=$2; shift 2
  local bits=${from#r}; bits=${bits%%-*}
  local ck=models/checkpoints/val-$from-e45.pt
  [[ -f $ck ]] || ck=models/runs/val-$from-e45.pt
  $PY -m models.ssdh.train --bits "$bits" --init "$ck" --eval val \
    --out "models/validation/$name.onnx" "$@" ${TRAIN_EXTRA:-} 2>&1 | tee "models/logs/val-$name.log"
  mv -f "models/validation/$name.onnx" "models/runs/val-$name.onnx"
}
declare -A STUDIES=(
  [r48-s0-noclean]="r48-s0 --epochs 0 --clean-epochs 0"
  [r64-s0-noclean]="r64-s0 --epochs 0 --clean-epochs 0"
  [r48-s0-aug4]="r48-s0 --epochs 4 --clean-epochs 0 --lr 3e-4"
  [r64-s0-clean8]="r64-s0 --epochs 8 --clean-epochs 8 --lr 3e-4"
  [r48-s0-clean8]="r48-s0 --epochs 8 --clean-epochs 8 --lr 3e-4"
  [r48-s1-clean8]="r48-s1 --seed 1 --epochs 8 --clean-epochs 8 --lr 3e-4"
  [r48-s2-clean8]="r48-s2 --seed 2 --epochs 8 --clean-epochs 8 --lr 3e-4"
  [r64-s1-clean8]="r64-s1 --seed 1 --epochs 8 --clean-epochs 8 --lr 3e-4"
  [r64-s2-clean8]="r64-s2 --seed 2 --epochs 8 --clean-epochs 8 --lr 3e-4"
  [r64-s2-clean16]="r64-s2 --seed 2 --epochs 16 --clean-epochs 16 --lr 3e-4"
  [r48-b3-s0-clean8]="r48-b3-s0 --epochs 8 --clean-epochs 8 --lr 3e-4 --beta 3"
  [r16-s0-clean8]="r16-s0 --epochs 8 --clean-epochs 8 --lr 3e-4"
  # from r16-s0's first stage as rerun on an AMD EPYC machine (2026-12-04; the original
  # checkpoint is gone; log: models/validation/r16-s0-e45-rerun.train.json)
  [r16-s0-clean16]="r16-s0 --epochs 16 --clean-epochs 16 --lr 3e-4"
  [r32-s0-clean8]="r32-s0 --epochs 8 --clean-epochs 8 --lr 3e-4"
  [r32-s0-clean16]="r32-s0 --epochs 16 --clean-epochs 16 --lr 3e-4"
  # 32 bits' recipe at seeds 1 and 2 (first stages: FIRST_STAGE_ONLY=1 validation_runs.sh r32-s1
  # r32-s2), so every length's choice is the best of three seeds
  [r32-s1-clean16]="r32-s1 --seed 1 --epochs 16 --clean-epochs 16 --lr 3e-4"
  [r32-s2-clean16]="r32-s2 --seed 2 --epochs 16 --clean-epochs 16 --lr 3e-4"
  [r48-s0-clean16]="r48-s0 --epochs 16 --clean-epochs 16 --lr 3e-4"
  [r48-s1-clean16]="r48-s1 --seed 1 --epochs 16 --clean-epochs 16 --lr 3e-4"
  [r48-s2-clean16]="r48-s2 --seed 2 --epochs 16 --clean-epochs 16 --lr 3e-4"
  [r64-s0-clean16]="r64-s0 --epochs 16 --clean-epochs 16 --lr 3e-4"
  [r64-s1-clean16]="r64-s1 --seed 1 --epochs 16 --clean-epochs 16 --lr 3e-4"
  # r64-s0-clean16 again, on an AMD EPYC machine (2026-12-04): the same command, not the same
  # floats (0.9389 against 0.9392 on validation); the original's weights are gone, these exist.
  [r64-s0-clean16-amd]="r64-s0 --epochs 16 --clean-epochs 16 --lr 3e-4"
  # A 32-epoch clean stage from the shipped 48- and 64-bit models' first stages: 4 < 8 < 16 clean
  # epochs kept rising on validation, so 16 was not bracketed from above yet.
  [r48-s0-clean32]="r48-s0 --epochs 32 --clean-epochs 32 --lr 3e-4"
  [r64-s1-clean32]="r64-s1 --seed 1 --epochs 32 --clean-epochs 32 --lr 3e-4"
  # 32 beat 16 at both (48: 0.9499 against 0.9422; 64: 0.9489 against 0.9400), so the
  # 32-epoch clean stage at the other lengths, from each length's chosen first stage (32 bits:
  # s1, the best of three at 16 clean epochs), and at 48 bits' other seeds for its spread and
  # best-of-3 rule; r64-s0-clean32 a second 64-bit seed (r64-s2's first stage is gone).
  [r32-s1-clean32]="r32-s1 --seed 1 --epochs 32 --clean-epochs 32 --lr 3e-4"
  [r48-s1-clean32]="r48-s1 --seed 1 --epochs 32 --clean-epochs 32 --lr 3e-4"
  [r48-s2-clean32]="r48-s2 --seed 2 --epochs 32 --clean-epochs 32 --lr 3e-4"
  # These two ran on an Intel Xeon machine (2026-12-06): r16-s0-clean32 won at 16 bits (0.9466
  # against r16-s0-clean16's 0.9370; shipped as 16 bits 2.2.0); r64-s0-clean32 (0.9470) stayed
  # below r64-s1-clean32-xeon (0.9480), the shipped 64-bit choice.
  [r16-s0-clean32]="r16-s0 --epochs 32 --clean-epochs 32 --lr 3e-4"
  [r64-s0-clean32]="r64-s0 --epochs 32 --clean-epochs 32 --lr 3e-4"
  # r48-s0/r64-s1-clean32 again on an Intel Xeon machine (2026-12-05): the AMD runs' ONNX files
  # were in models/runs (ignored) and did not survive the move, so the shipped files come from
  # these reruns, chosen on their own validation numbers.
  [r48-s0-clean32-xeon]="r48-s0 --epochs 32 --clean-epochs 32 --lr 3e-4"
  [r64-s1-clean32-xeon]="r64-s1 --seed 1 --epochs 32 --clean-epochs 32 --lr 3e-4"
  # 48 bits' other two seeds at 32 clean epochs, rerun on an Intel Xeon machine (2026-12-06) for
  # the shipped recipe's seed spread on test (their first runs' weights did not survive either);
  # the choice among the three stays r48-s0-clean32-xeon, on validation.
  [r48-s1-clean32-xeon]="r48-s1 --seed 1 --epochs 32 --clean-epochs 32 --lr 3e-4"
  [r48-s2-clean32-xeon]="r48-s2 --seed 2 --epochs 32 --clean-epochs 32 --lr 3e-4"
  # 64 bits' third seed at 32 clean epochs, so 64 is chosen best-of-3 on validation like 48
  # (2026-12-07, AMD EPYC): r64-s2's first stage was gone, so it is a rerun (same command with
  # TRAIN_EXTRA="--threads 1", not the same floats: models/validation/r64-s2-e45-rerun.train.json;
  # checkpoint committed as models/checkpoints/val-r64-s2-e45.pt). Validation 0.9468, below s1's
  # 0.9480 and s0's 0.9470: 64 bits' choice (r64-s1-clean32-xeon, 2.3.0) stands; tested after
  # the choice for the recipe's spread only.
  [r64-s2-clean32]="r64-s2 --seed 2 --epochs 32 --clean-epochs 32 --lr 3e-4"
  [r12-s0-clean8]="r12-s0 --epochs 8 --clean-epochs 8 --lr 3e-4"
  [r24-s0-clean8]="r24-s0 --epochs 8 --clean-epochs 8 --lr 3e-4"
  [r36-s0-clean8]="r36-s0 --epochs 8 --clean-epochs 8 --lr 3e-4"
  # The QSMI lengths with the recipe chosen at all four shipped lengths (45 augmented + 32 clean
  # epochs; 2026-12-07, AMD EPYC, two side by side with TRAIN_EXTRA="--threads 1"), one seed,
  # not shipped: each is evaluated on test once for the QSMI table. 12 and 24 bits ran twice: the
  # first runs' final weights (validation 0.9442 / 0.9465) were lost with their machine, so the
  # tested ones are the reruns (0.9448 / 0.9461), their final checkpoints committed as
  # models/checkpoints/<run>.pt. 36 bits: its first stage is trained (2026-12-07,
  # models/checkpoints/val-r36-s0-e45.pt) and r36-s0-clean32 (validation 0.9479; final checkpoint
  # committed), tested once: test mAP 0.9449 (11-point 0.9026 against QSMI's 0.863).
  [r12-s0-clean32]="r12-s0 --epochs 32 --clean-epochs 32 --lr 3e-4"
  [r24-s0-clean32]="r24-s0 --epochs 32 --clean-epochs 32 --lr 3e-4"
  [r36-s0-clean32]="r36-s0 --epochs 32 --clean-epochs 32 --lr 3e-4"
  # A 48-epoch clean stage (2026-12-07, AMD EPYC, --threads 2, one after the other): 4 < 8 < 16 <
  # 32 clean epochs kept rising on validation at every length, so the clean stage's length was
  # still not bracketed. Run from the first stages of the shipped 48- and 64-bit choices (seed 0
  # and seed 1); registered under the same rule (validation mAP, full ranking) against the shipped
  # runs. They won under it; the rule was then amended and they were not adopted (below).
  [r48-s0-clean48]="r48-s0 --epochs 48 --clean-epochs 48 --lr 3e-4"
  [r64-s1-clean48]="r64-s1 --seed 1 --epochs 48 --clean-epochs 48 --lr 3e-4"
  # Validation mAP 0.9522 / 0.9499 against the shipped runs' 0.9500 / 0.9480, but the
  # unseen-database validation mAP fell (0.9130 / 0.9131 against 0.9172 / 0.9149; python -m
  # models.ssdh.unseen_database --split val, stored in models/validation/unseen-database-val-clean48.json):
  # the longer stage fits the database (the training images) at new images' expense, so it was
  # not adopted and the clean stage stays at 32 epochs (models/RESULTS.md, "The rule"; not tested).
  # r32-s1-clean16 again (2026-12-07, AMD; the original's weights are gone), to compare 16 and 32
  # clean epochs at 32 bits on the unseen-database measure from the same first stage and seed.
  [r32-s1-clean16-amd]="r32-s1 --seed 1 --epochs 16 --clean-epochs 16 --lr 3e-4"
  [r48-s0-clean-b3]="r48-s0 --epochs 4 --clean-epochs 4 --lr 3e-4 --beta 3"
  [r48-s0-clean-b10]="r48-s0 --epochs 4 --clean-epochs 4 --lr 3e-4 --beta 10"
  [r64-s0-clean-b3]="r64-s0 --epochs 4 --clean-epochs 4 --lr 3e-4 --beta 3"
  [r64-s0-clean-b10]="r64-s0 --epochs 4 --clean-epochs 4 --lr 3e-4 --beta 10"
)
ORDER=(r48-s0-noclean r64-s0-noclean r64-s0-clean-b3 r64-s0-clean-b10 r64-s0-clean8
       r48-s0-clean-b3 r48-s0-clean-b10 r48-s0-aug4 r48-s0-clean8)
for name in "${@:-${ORDER[@]}}"; do
  # shellcheck disable=SC2086
  study "$name" ${STUDIES[$name]}
done
