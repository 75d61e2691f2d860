#!/bin/bash
# Held-out CT/MR: fit on Br35H alone (100 train images, 3 rounds), test on the CT/MR test volumes (issue 11).
set -ex
cd "$(dirname "$0")/../../.."
out=bench/results/wavelet-holdout
mkdir -p runs/holdout
python -m bench.wavelet_fit -o runs/holdout/no_ctmr.safetensors --br35h 100 --ctmr 0 --rounds 3 > $out/fit_no_ctmr.log 2>&1
# Then the wavelet-packet children's classes on the same frames (the shipped recipe's second step).
python -m bench.wavelet_fit -o runs/holdout/no_ctmr_packet.safetensors --br35h 100 --ctmr 0 --rounds 3 --packet-from runs/holdout/no_ctmr.safetensors > $out/fit_no_ctmr_packet.log 2>&1
# Then everything refitted on the tiles the encoder writes (its own packet splits): the third step.
python -m bench.wavelet_fit -o runs/holdout/no_ctmr_refit.safetensors --br35h 100 --ctmr 0 --rounds 3 --refit-from runs/holdout/no_ctmr_packet.safetensors > $out/fit_no_ctmr_refit.log 2>&1
# Then the inter-scale predictor, trained on the same frames, and everything refitted with it: the fourth step.
python -m bench.wavelet_fit -o runs/holdout/no_ctmr_predict.safetensors --br35h 100 --ctmr 0 --rounds 3 --predict-from runs/holdout/no_ctmr_refit.safetensors --predict-levels ${LEVELS:-3} --predict-channels ${CHANNELS:-8} --predict-steps ${STEPS:-10000} > $out/fit_no_ctmr_predict.log 2>&1
python -m bench.wavelet_eval --model runs/holdout/no_ctmr_predict.safetensors --sets ctmr:test > $out/eval_no_ctmr_on_ctmr.log 2>&1
python -m bench.wavelet_eval --model runs/holdout/no_ctmr_refit.safetensors --sets ctmr:test > $out/eval_no_ctmr_without_predictor_on_ctmr.log 2>&1
python -m bench.wavelet_eval --model checkpoints/$(python -c "import json; print(next(m['file'] for m in json.load(open('checkpoints/manifest.json'))['models'] if m['id'] == 'wavelet-ctx'))") --sets ctmr:test > $out/eval_shipped_on_ctmr.log 2>&1
python -m bench.wavelet_eval --sets ctmr:test > $out/eval_untrained_on_ctmr.log 2>&1
