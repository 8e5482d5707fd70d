#!/bin/sh
# Cross-fit the fine-tuned encoder on the stack's 5 folds (D's settings), two folds at a time.
set -e
run() { nice ../../../.venv/bin/python finetune.py --out runs/OOF_$1 --epochs 4 --threads 1 --balanced --lr 6e-4 --smoothing 0.1 --fold $1 > runs/OOF_$1.log 2>&1; }
(run 0; run 2; run 4) &
(run 1; run 3) &
wait
