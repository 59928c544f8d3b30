#!/usr/bin/env bash
# The main job (README): create a database for the shipped reference SSDH model, insert the
# shipped Fashion-MNIST sample images, query it by image (neighbours + the query's predicted
# class), and evaluate retrieval on the whole sample set. Run through `make demo`, which builds
# hamdb and installs ONNX Runtime (PyPI, into .venv) first; hamdb finds it there by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
HAMDB=target/release/hamdb
MODEL=models/reference/ssdh-fmnist-48.onnx
SAMPLES=samples/fashion-mnist
DB=target/demo/fmnist.hamdb
mkdir -p target/demo
rm -f "$DB"

echo "== create a database bound to $MODEL"
$HAMDB create "$DB" --model "$MODEL"
echo
echo "== insert the $(ls $SAMPLES/images | wc -l) sample images"
$HAMDB insert "$DB" "$SAMPLES/images" --quiet
echo
echo "== query by image: 5 nearest neighbours and the query's predicted class"
for q in 00000 00001 00002; do
  $HAMDB search "$DB" --image "$SAMPLES/images/$q.png" -k 5
  echo
done
echo "== the same query restricted to one class (SSDH codes carry the class)"
$HAMDB search "$DB" --image "$SAMPLES/images/00001.png" -k 3 --class Coat
echo
echo "== every sample image as a query (leave-one-out), against the true labels"
$HAMDB eval "$DB" --queries "$SAMPLES" --labels "$SAMPLES/labels.csv"
$HAMDB verify "$DB"
