"""Threads: the engine never changes torch's thread settings on its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import mcz
from mcz.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]

# 20 coded slices decoded in a Dataset's __getitem__, after the parent decoded once: with a
# forked worker pool the workers hung in OpenMP when the engine set 2 threads in them.
_LOADER = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, torch
    from torch.utils.data import DataLoader, Dataset
    import mcz

    rng = np.random.default_rng(0)
    y, x = np.mgrid[:128, :128]
    base = 2000 + 800 * np.sin(x / 9.0) * np.cos(y / 11.0)
    slices = [np.clip(base + rng.normal(0, 20, base.shape), 0, 4095).astype(np.uint16) for _ in range(20)]
    coded = [mcz.encode(s, model=sys.argv[1], bits_stored=12) for s in slices]
    mcz.decode(coded[0])  # the parent decodes once: its OpenMP pool exists before the fork

    class Slices(Dataset):
        def __len__(self):
            return len(coded)

        def __getitem__(self, i):
            threads = torch.get_num_threads()
            pixels = mcz.decode(coded[i])
            assert torch.get_num_threads() == threads, "decode changed the worker's thread count"
            return torch.from_numpy(pixels.astype(np.float32)), threads

    times, worker_threads = {}, set()
    for workers in (0, 2):
        start = time.perf_counter()
        loader = DataLoader(Slices(), batch_size=4, num_workers=workers,
                            multiprocessing_context="fork" if workers else None)
        for batch, threads in loader:
            assert batch.shape == (4, 128, 128)
            if workers:
                worker_threads.update(int(t) for t in threads)
        times[workers] = time.perf_counter() - start
    print(json.dumps({"times": times, "worker_threads": sorted(worker_threads)}))
    """
)


@pytest.mark.parametrize("model", ["cae-compact", "hyperprior-compact-ctmr"])
def test_decode_in_forked_dataloader_workers_after_the_parent_decoded(model):
    pytest.importorskip("compressai")
    try:
        done = subprocess.run([sys.executable, "-c", _LOADER, model], cwd=ROOT, capture_output=True,
                              text=True, timeout=240)
    except subprocess.TimeoutExpired:
        pytest.fail("decoding in forked DataLoader workers hung (the engine changed the thread count?)")
    assert done.returncode == 0, done.stderr[-2000:]
    result = __import__("json").loads(done.stdout.strip().splitlines()[-1])
    assert result["worker_threads"] == [1]  # PyTorch's setting in a worker, left alone


def test_decode_leaves_the_thread_setting_alone(monkeypatch, seeded_zoo):
    import torch

    data = mcz.encode(np.zeros((32, 32), np.uint8), model="cae-compact")
    calls: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    mcz.decode(data)
    mcz.encode(np.zeros((32, 32), np.uint8), model="cae-compact")
    assert calls == []


def test_explicit_threads_apply_for_the_call_only(seeded_zoo):
    import torch

    before = torch.get_num_threads()
    data = mcz.encode(np.zeros((32, 32), np.uint8), model="cae-compact", threads=1)
    seen: list[int] = []
    original = torch.set_num_threads
    try:
        torch.set_num_threads = lambda n: (seen.append(n), original(n))[1]
        mcz.decode(data, threads=before + 1)
    finally:
        torch.set_num_threads = original
    assert seen == [before + 1, before] and torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_are_refused(bad, seeded_zoo):
    data = mcz.encode(np.zeros((32, 32), np.uint8), model="cae-compact")
    with pytest.raises(UsageError, match="threads="):
        mcz.decode(data, threads=bad)
    with pytest.raises(UsageError, match="threads="):
        mcz.encode(np.zeros((32, 32), np.uint8), model="cae-compact", threads=bad)
