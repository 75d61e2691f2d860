#!/bin/bash
# Held-out Br35H: fit on the CT/MR train volumes alone, test on the Br35H test split (issue 11).
set -ex
cd "$(dirname "$0")/../../.."
out=bench/results/wavelet-holdout
mkdir -p runs/holdout
python -m bench.wavelet_fit -o runs/holdout/no_br35h.safetensors --br35h 0 --ctmr 16 --rounds 4 > $out/fit_no_br35h.log 2>&1
# Then the wavelet-packet children's classes on the same frames (the shipped recipe's second step).
python -m bench.wavelet_fit -o runs/holdout/no_br35h_packet.safetensors --br35h 0 --ctmr 16 --rounds 4 --packet-from runs/holdout/no_br35h.safetensors > $out/fit_no_br35h_packet.log 2>&1
# Then everything refitted on the tiles the encoder writes (its own packet splits): the third step.
python -m bench.wavelet_fit -o runs/holdout/no_br35h_refit.safetensors --br35h 0 --ctmr 16 --rounds 4 --refit-from runs/holdout/no_br35h_packet.safetensors > $out/fit_no_br35h_refit.log 2>&1
# Then the inter-scale predictor, trained on the same frames, and everything refitted with it: the fourth step.
python -m bench.wavelet_fit -o runs/holdout/no_br35h_predict.safetensors --br35h 0 --ctmr 16 --rounds 4 --predict-from runs/holdout/no_br35h_refit.safetensors --predict-levels ${LEVELS:-3} --predict-channels ${CHANNELS:-8} --predict-steps ${STEPS:-10000} > $out/fit_no_br35h_predict.log 2>&1
python -m bench.wavelet_eval --model runs/holdout/no_br35h_predict.safetensors --sets br35h:test --limit 40 > $out/eval_no_br35h_on_br35h.log 2>&1
python -m bench.wavelet_eval --model runs/holdout/no_br35h_refit.safetensors --sets br35h:test --limit 40 > $out/eval_no_br35h_without_predictor_on_br35h.log 2>&1
python -m bench.wavelet_eval --model checkpoints/$(python -c "import json; print(next(m['file'] for m in json.load(open('checkpoints/manifest.json'))['models'] if m['id'] == 'wavelet-ctx'))") --sets br35h:test --limit 40 > $out/eval_shipped_on_br35h.log 2>&1
python -m bench.wavelet_eval --sets br35h:test --limit 40 > $out/eval_untrained_on_br35h.log 2>&1
