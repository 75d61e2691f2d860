"""Short structure-aware fuzz runs of every untrusted-input surface.

Each target (see :mod:`tests.hardening.fuzz_targets`) gets a few seconds of
Hypothesis-driven inputs in the default suite; a finding is any outcome other than
success or a typed :class:`~mcz.errors.McZError`: an untyped exception or a silent
mis-decode.  ``python bench/fuzz.py`` runs the same targets for long, under a
watchdog that also catches crashes, hangs and memory blow-ups.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hardening.fuzz_targets import TARGETS, classify

pytest.importorskip("compressai")

#: Examples per target: about 2-5 s each on one loaded core.
EXAMPLES = {"container": 300, "header": 40, "tile-cae": 40, "tile-factorized": 60, "tile-hyperprior": 30,
            "tile-wavelet": 60, "tile-wavelet-block": 60, "tile-wavelet-packet": 40, "tile-wavelet-pixel": 40, "tile-hvae": 30, "tile-realistic": 20, "tile-wavelet-realistic": 15, "dicom": 60,
            "encode": 30}


def _fuzz(name: str):
    target = TARGETS[name]

    # derandomize: the default suite runs the same inputs every time (no flaky CI); bench/fuzz.py explores.
    @settings(max_examples=EXAMPLES[name], deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.randoms(use_true_random=False))
    def test(rng: random.Random) -> None:
        value = target.make(rng)
        outcome = classify(target, value)
        assert outcome == "ok" or not (outcome == "MisDecode" or outcome.startswith("untyped")), outcome

    return test


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_fuzz_target_gives_only_typed_errors(name):
    _fuzz(name)()


def test_the_suite_covers_every_target():
    assert set(EXAMPLES) == set(TARGETS)


def test_classify_tells_typed_from_untyped_errors():
    from mcz.errors import FormatError
    from tests.hardening.fuzz_targets import MisDecode, Target

    def raiser(exc):
        def run(_):
            raise exc
        return run

    assert classify(Target("t", lambda r: 0, raiser(FormatError("x"))), 0) == "FormatError"
    assert classify(Target("t", lambda r: 0, raiser(KeyError("x"))), 0) == "untyped:KeyError"
    assert classify(Target("t", lambda r: 0, raiser(MisDecode("x"))), 0) == "MisDecode"
    assert classify(Target("t", lambda r: 0, lambda v: None), 0) == "ok"
