#!/bin/bash
# Held-out Br35H: fit on the CT/MR train volumes alone, test on the Br35H test split (issue 11).
set -ex
cd "$(dirname "$0")/../../.."
out=bench/results/wavelet-holdout
mkdir -p runs/holdout
python -m bench.wavelet_fit -o runs/holdout/no_br35h.safetensors --br35h 0 --ctmr 10 --rounds 4 > $out/fit_no_br35h.log 2>&1
# Then the wavelet-packet children's classes on the same frames (the shipped recipe's second step).
python -m bench.wavelet_fit -o runs/holdout/no_br35h_packet.safetensors --br35h 0 --ctmr 10 --rounds 4 --packet-from runs/holdout/no_br35h.safetensors > $out/fit_no_br35h_packet.log 2>&1
python -m bench.wavelet_eval --model runs/holdout/no_br35h_packet.safetensors --sets br35h:test --limit 40 > $out/eval_no_br35h_on_br35h.log 2>&1
python -m bench.wavelet_eval --model checkpoints/wavelet-ctx-fa7c87a6.safetensors --sets br35h:test --limit 40 > $out/eval_shipped_on_br35h.log 2>&1
python -m bench.wavelet_eval --sets br35h:test --limit 40 > $out/eval_untrained_on_br35h.log 2>&1
