#!/usr/bin/env bash
# Reproduces every model and result in models/RESULTS.md. Run from the repository root:
#   bash models/run_all.sh
# Part 1, the shipped models (2.0.0, issue 16): chosen on a validation split, never on test.
# models/validation_runs.sh trains each candidate on the 55,000 training images outside the split
# (both stages: 45 augmented epochs, then 4 clean ones; ~30-50 s an epoch on 2 idle CPU cores,
# so ~25-45 min a run), models/validation_studies.sh the second-stage variants from a run's first
# stage; each is scored on the split only (models/validation/*.val.json). promote then ships the
# chosen run's weights as is and evaluates them on test, once.
# Part 2, earlier versions and experiments (models/history, models/ablation): recipes chosen
# looking at test numbers before the validation protocol existed, kept for the record. 48 bits:
# 45 epochs with augmentation (1.1.0), then 4 epochs on un-augmented images (1.2.0); 64 bits 12
# epochs, 32 and 16 bits 8 (1.0.0), then the same 4 clean epochs (1.1.0); the alpha=beta=0
# ablation 12. Those ran as two parallel single-thread jobs (--threads 1); the thread count
# changes float summation order, so it is part of the recipe for bit-exact reruns. Runs made
# before --clean-epochs existed (default now 2) pass --clean-epochs 0. Their files go to
# models/history under the names the report reads (git keeps only their .json files).
set -euo pipefail
mkdir -p models/logs
run() { local log=$1; shift; python -m models.ssdh.train "$@" 2>&1 | tee "models/logs/$log.log"; }
promote() {  # run bits version
  python -m models.ssdh.promote --run "$1" --model-version "${3:?promote: a version}" --out "models/reference/ssdh-fmnist-$2.onnx" \
    2>&1 | tee "models/logs/promote-$2.log"
}
# Part 1: the candidates, the studies, then the choice (the best validation mAP at each length,
# since 2026-12-07 on the unseen-database condition; models/RESULTS.md, "Model selection")
# shipped and tested once.
PY=python bash models/validation_runs.sh r48-s0 r64-s0 r32-s0 r16-s0 r48-s1 r48-s2
PY=python bash models/validation_studies.sh   # its default list ends with r48-s0-clean8
# 8 clean epochs won at 48 bits too: that recipe's other seeds (from r48-s1/s2's first stages)
PY=python bash models/validation_studies.sh r48-s1-clean8 r48-s2-clean8
# 64 bits fell below 48 on validation: the same recipe's seeds 1 and 2
FIRST_STAGE_ONLY=1 PY=python bash models/validation_runs.sh r64-s1 r64-s2
PY=python bash models/validation_studies.sh r64-s1-clean8 r64-s2-clean8
# a longer clean stage (16 epochs, from seed 2's first stage; it won, 2.1.0) and beta 3 in both
# stages at 48 bits (it lost)
PY=python bash models/validation_studies.sh r64-s2-clean16
FIRST_STAGE_ONLY=1 PY=python bash models/validation_runs.sh r48-b3-s0
PY=python bash models/validation_studies.sh r48-b3-s0-clean8
# the 8- and 16-clean-epoch stages at 32 bits (16 won, 2.1.0)
PY=python bash models/validation_studies.sh r32-s0-clean8 r32-s0-clean16
# 16 clean epochs at 48 bits, three seeds (seed 0 won, 2.1.0)
PY=python bash models/validation_studies.sh r48-s0-clean16 r48-s1-clean16 r48-s2-clean16
# 16 clean epochs at 64 bits, seeds 0 and 1 (seed 2's is r64-s2-clean16 above, 2.1.0). Seed 1's
# first stage was rerun (it reuses the r64-s1 stage 1 above; the rerun's log is
# models/validation/r64-s1-e45-rerun.train.json). r64-s0-clean16-amd is r64-s0-clean16 run again
# on another machine (the original's weights are gone); seed 1 won (2.2.0).
PY=python bash models/validation_studies.sh r64-s0-clean16 r64-s0-clean16-amd r64-s1-clean16
# 16 clean epochs at 16 bits, from a rerun of r16-s0's first stage (its log is
# models/validation/r16-s0-e45-rerun.train.json; checkpoint committed); it won (2.1.0). 16 bits
# 2.0.0 was r16-s0 (models/history/ssdh-fmnist-16-2.0.0.*).
PY=python bash models/validation_studies.sh r16-s0-clean16
# 32 bits' recipe at seeds 1 and 2 (validation 0.9417 / 0.9403; seed 1's rerun ships as 32 bits 2.3.0, below)
FIRST_STAGE_ONLY=1 PY=python bash models/validation_runs.sh r32-s1 r32-s2
PY=python bash models/validation_studies.sh r32-s1-clean16 r32-s2-clean16
promote r16-s0-clean16 16 2.1.0
# 32 clean epochs (2026-12-05; studies at 1 thread, two side by side, TRAIN_EXTRA="--threads 1"):
# 32 bits 2.2.0 (since replaced by 2.3.0, below), 48 bits 2.2.0 and 64 bits 2.3.0 from it.
# 32 bits 2.1.0 was r32-s0-clean16, 48 bits 2.1.0 r48-s0-clean16, 64 bits 2.2.0 r64-s1-clean16
# (models/history).
PY=python bash models/validation_studies.sh r48-s0-clean32 r64-s1-clean32 r32-s1-clean32 \
  r48-s0-clean32-xeon r64-s1-clean32-xeon r48-s1-clean32 r48-s2-clean32
# 48 bits' seeds 1 and 2 again on the Xeon machine (2026-12-06), for the shipped recipe's spread
PY=python bash models/validation_studies.sh r48-s1-clean32-xeon r48-s2-clean32-xeon
# 32 clean epochs at 16 bits and at a second 64-bit seed (2026-12-06, Xeon, TRAIN_EXTRA="--threads 1"):
# r16-s0-clean32 beat r16-s0-clean16 on validation (0.9466 against 0.9370) and ships as 16 bits 2.2.0
# (16 bits 2.1.0 was r16-s0-clean16, models/history); r64-s0-clean32 (0.9470) stayed below
# r64-s1-clean32-xeon (0.9480), so 64 bits' choice stands and r64-s0-clean32 is not tested.
PY=python bash models/validation_studies.sh r16-s0-clean32 r64-s0-clean32
# QSMI's lengths 12 and 24 (2026-12-07, AMD EPYC, two side by side), the shipped recipe at seed 0,
# not shipped: tested once each for the QSMI table; 36 bits the same (r36-s0-clean32, validation
# 0.9479, --threads 2).
FIRST_STAGE_ONLY=1 TRAIN_EXTRA="--threads 1" PY=python bash models/validation_runs.sh r12-s0 r24-s0 r36-s0
TRAIN_EXTRA="--threads 1" PY=python bash models/validation_studies.sh r12-s0-clean32 r24-s0-clean32
TRAIN_EXTRA="--threads 2" PY=python bash models/validation_studies.sh r36-s0-clean32
for run in r12-s0-clean32 r24-s0-clean32 r36-s0-clean32; do
  python -m models.ssdh.promote --run "$run" --eval-only --out "models/validation/$run.eval.json"
done
# 64 bits' third seed at 32 clean epochs (2026-12-07, AMD EPYC), from a rerun of r64-s2's first
# stage (the original's checkpoint was lost; the rerun's log and settings were renamed *-e45-rerun.*):
# validation 0.9468 < s1's 0.9480, so the choice stands;
# tested after the choice, for the spread.
FIRST_STAGE_ONLY=1 TRAIN_EXTRA="--threads 1" PY=python bash models/validation_runs.sh r64-s2
TRAIN_EXTRA="--threads 2" PY=python bash models/validation_studies.sh r64-s2-clean32
python -m models.ssdh.promote --run r64-s2-clean32 --eval-only --out models/validation/r64-s2-clean32.eval.json
# A 48-epoch clean stage from the shipped 48- and 64-bit choices' first stages (2026-12-07, AMD
# EPYC): higher standard validation mAP, lower unseen-database validation mAP, so not adopted;
# the rule gained that second measure (models/RESULTS.md, "The rule"), and 32 bits' 16 -> 32
# clean step failed it from the same seed (r32-s1-clean16 rerun as r32-s1-clean16-amd).
TRAIN_EXTRA="--threads 2" PY=python bash models/validation_studies.sh r48-s0-clean48 r64-s1-clean48 r32-s1-clean16-amd
# (The stored files' "model" fields were annotated by hand with the git revision of files
# that have since been replaced; rerun, they hold plain paths.)
python -m models.ssdh.unseen_database --split val models/runs/val-r48-s0-clean32-xeon.onnx \
  models/runs/val-r48-s0-clean48.onnx models/runs/val-r64-s1-clean32-xeon.onnx \
  models/runs/val-r64-s1-clean48.onnx models/runs/val-r64-s2-clean32.onnx \
  --out models/validation/unseen-database-val-clean48.json
# Each length's 16- and 32-clean-epoch runs (the 2.1.0 / 2.2.0 / 2.3.0 files' weights: the
# validation exports give the shipped files' codes), on validation and on test.
CLEAN16_VS_CLEAN32=()
for run in r16-s0-clean16 r16-s0-clean32 r32-s0-clean16 r32-s1-clean32 r48-s0-clean16 r48-s0-clean32-xeon \
           r64-s1-clean16 r64-s1-clean32-xeon; do
  CLEAN16_VS_CLEAN32+=("models/runs/val-$run.onnx")
done
python -m models.ssdh.unseen_database --split val "${CLEAN16_VS_CLEAN32[@]}" \
  --out models/validation/unseen-database-val-clean16-vs-clean32.json
python -m models.ssdh.unseen_database "${CLEAN16_VS_CLEAN32[@]}" \
  --out models/validation/unseen-database-test-clean16-vs-clean32.json
python -m models.ssdh.unseen_database --split val models/runs/val-r32-s1-clean16-amd.onnx \
  models/runs/val-r32-s1-clean32.onnx --out models/validation/unseen-database-val-r32-s1-clean16-vs-clean32.json
promote r16-s0-clean32 16 2.2.0
promote r32-s1-clean16-amd 32 2.3.0   # 2.2.0 was r32-s1-clean32 (models/history)
python -m models.ssdh.unseen_database models/reference/ssdh-fmnist-32.onnx \
  --out models/validation/unseen-database-test-32-2.3.0.json
promote r48-s0-clean32-xeon 48 2.2.0
promote r64-s1-clean32-xeon 64 2.3.0
for run in r48-s1-clean32-xeon r48-s2-clean32-xeon; do   # the shipped 48-bit recipe's other seeds
  python -m models.ssdh.promote --run "$run" --eval-only --out "models/validation/$run.eval.json"
done
# 48 bits 2.1.0's recipe (16 clean epochs): seed 0 was shipped as 2.1.0 (its test eval is
# models/history/ssdh-fmnist-48-2.1.0.eval.json, copied to models/validation/r48-s0-clean16.eval.json)
for run in r48-s1-clean16 r48-s2-clean16; do   # its other seeds, on test after the choice
  python -m models.ssdh.promote --run "$run" --eval-only --out "models/validation/$run.eval.json"
done
# 48 bits 2.0.0's recipe (8 clean epochs): seed 0 was shipped as 2.0.0 (its test eval is
# models/history/ssdh-fmnist-48-2.0.0.eval.json, copied to models/validation/r48-s0-clean8.eval.json)
for run in r48-s1-clean8 r48-s2-clean8; do
  python -m models.ssdh.promote --run "$run" --eval-only --out "models/validation/$run.eval.json"
done
# 64 bits 2.1.0 (r64-s2-clean16): its test eval is models/history/ssdh-fmnist-64-2.1.0.eval.json,
# copied to models/validation/r64-s2-clean16.eval.json; 2.2.0's recipe at seed 0:
python -m models.ssdh.promote --run r64-s0-clean16-amd --eval-only --out models/validation/r64-s0-clean16-amd.eval.json
for run in r64-s0-clean8 r64-s1-clean8 r64-s2-clean8; do   # 64 bits' earlier choices (s0, then s1 as 2.0.0) and s2
  python -m models.ssdh.promote --run "$run" --eval-only --out "models/validation/$run.eval.json"
done
# Part 2: earlier versions and experiments.
run train-48-e45 --bits 48 --epochs 45 --clean-epochs 0 --model-version 1.1.0 --checkpoint models/runs/ssdh-fmnist-48-1.1.0.pt --name ssdh-fmnist-48 --out models/history/ssdh-fmnist-48-1.1.0.onnx
run train-48-clean4 --bits 48 --init models/runs/ssdh-fmnist-48-1.1.0.pt --epochs 4 --clean-epochs 4 --lr 3e-4 --threads 1 --model-version 1.2.0 --name ssdh-fmnist-48 --out models/history/ssdh-fmnist-48-1.2.0.onnx
# Its control: the same 4 epochs with augmentation (what the clean images buy over more epochs).
run train-48-plus4-augmented --bits 48 --init models/runs/ssdh-fmnist-48-1.1.0.pt --epochs 4 --clean-epochs 0 --lr 3e-4 --threads 1 --model-version 1.2.0 --out models/ablation/ssdh-fmnist-48-1.1.0-plus4-augmented.onnx
run train-64 --bits 64 --epochs 12 --clean-epochs 0 --threads 1 --checkpoint models/runs/ssdh-fmnist-64-1.0.0.pt --name ssdh-fmnist-64 --out models/history/ssdh-fmnist-64-1.0.0.onnx
run train-64-clean4 --bits 64 --init models/runs/ssdh-fmnist-64-1.0.0.pt --epochs 4 --clean-epochs 4 --lr 3e-4 --threads 1 --model-version 1.1.0 --name ssdh-fmnist-64 --out models/history/ssdh-fmnist-64-1.1.0.onnx
run train-32 --bits 32 --epochs 8 --clean-epochs 0 --threads 1 --checkpoint models/runs/ssdh-fmnist-32-1.0.0.pt --name ssdh-fmnist-32 --out models/history/ssdh-fmnist-32-1.0.0.onnx
run train-32-clean4 --bits 32 --init models/runs/ssdh-fmnist-32-1.0.0.pt --epochs 4 --clean-epochs 4 --lr 3e-4 --threads 1 --model-version 1.1.0 --name ssdh-fmnist-32 --out models/history/ssdh-fmnist-32-1.1.0.onnx
run train-16 --bits 16 --epochs 8 --clean-epochs 0 --threads 1 --checkpoint models/runs/ssdh-fmnist-16-1.0.0.pt --name ssdh-fmnist-16 --out models/history/ssdh-fmnist-16-1.0.0.onnx
run train-16-clean4 --bits 16 --init models/runs/ssdh-fmnist-16-1.0.0.pt --epochs 4 --clean-epochs 4 --lr 3e-4 --threads 1 --model-version 1.1.0 --name ssdh-fmnist-16 --out models/history/ssdh-fmnist-16-1.1.0.onnx
# A wider backbone (1.5x the inference cost), both stages; not shipped (.onnx files not kept).
run train-48-cnn5 --bits 48 --backbone cnn5 --epochs 45 --clean-epochs 0 --checkpoint models/runs/ssdh-fmnist-48-cnn5.pt --out models/ablation/ssdh-fmnist-48-cnn5.onnx
run train-48-cnn5-clean4 --bits 48 --backbone cnn5 --init models/runs/ssdh-fmnist-48-cnn5.pt --epochs 4 --clean-epochs 4 --lr 3e-4 --out models/ablation/ssdh-fmnist-48-cnn5-clean4.onnx
# The trainer's default recipe shape (clean epochs at the end of one run), at 1.0.0's 20 epochs.
run train-48-e20-clean3 --bits 48 --epochs 20 --clean-epochs 3 --out models/ablation/ssdh-fmnist-48-e20-clean3.onnx
# Ablation: the same recipe without the two hash terms; kept out of models/reference/.
run train-48-ablation --bits 48 --alpha 0 --beta 0 --epochs 12 --clean-epochs 0 --threads 1 --out models/ablation/ssdh-fmnist-48-a0b0.onnx
# ...and SSDH at the ablation's length, for a like-for-like comparison.
run train-48-e12 --bits 48 --epochs 12 --clean-epochs 0 --threads 1 --out models/ablation/ssdh-fmnist-48-a1b1-e12.onnx
python -m models.ssdh.samples            # sample PNGs, labels.csv, expected-code fixtures
python -m models.ssdh.report             # models/RESULTS.md from the *.eval.json files
