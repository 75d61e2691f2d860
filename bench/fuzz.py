"""Long fuzzing run of mcz's untrusted-input surfaces, under a watchdog (issue 13).

Usage (from the repository root)::

    python bench/fuzz.py                                  # every target, 60 s each
    python bench/fuzz.py --seconds 600 --targets header tile-wavelet
    python bench/fuzz.py --inputs 100000 --seconds 0 --targets container --out runs/fuzz

Each target of :mod:`tests.hardening.fuzz_targets` (container reader, CRC-valid header
mutations, CRC-valid tile mutations of every family, DICOM reader, encode API) makes
inputs from a seeded generator; input ``i`` of a target is reproducible from
``(seed, target, i)``.  The inputs run in a worker process; the parent is the
watchdog: a worker killed by a signal is a *crash*, one that spends more than
``--timeout`` CPU seconds (default 5) on one input, or answers nothing for 20 times
that in wall time, runs again in a fresh worker, and is a *hang* only if it is over
the limit again (CPU time, and the retry, so that a loaded machine does not turn
slow inputs into hangs; a real hang repeats).  Workers run torch with one thread.
The peak resident memory of the worker is recorded.
Both restart the worker and go on.

Reported per target: attempts, outcomes (``ok`` and the typed errors by class),
untyped errors, silent mis-decodes, crashes, hangs and peak memory.  Every finding
(untyped error, mis-decode, crash, hang, an input that raised the worker's peak
memory above ``--memory-mb``) is written to ``OUT/<target>/<kind>-<i>.bin`` with the
seed and index in ``OUT/findings.jsonl``; the summary goes to ``OUT/summary.json``.
Exit status 1 if there was any finding.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _rng(seed: int, target: str, index: int) -> random.Random:
    return random.Random(f"{seed}:{target}:{index}")


def _worker(conn: Any, target: str, seed: int) -> None:
    """Run inputs of ``target`` as the parent asks; answer (index, outcome, peak RSS in MiB)."""
    sys.path.insert(0, str(ROOT))
    import warnings

    warnings.simplefilter("ignore")
    from tests.hardening.fuzz_targets import TARGETS, classify, warm

    spec = TARGETS[target]
    warm()  # base files and models: no input pays for them
    classify(spec, spec.make(_rng(seed, target, -1)))
    conn.send(("ready", None, _peak_mib()))
    while True:
        index = conn.recv()
        if index is None:
            return
        outcome = classify(spec, spec.make(_rng(seed, target, index)))
        conn.send((index, outcome, _peak_mib()))


#: A worker that gets no CPU (a loaded machine) is a hang only after this many times the timeout.
WALL_FACTOR = 20


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``; 0 where unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Watchdog:
    """A worker process for one target, restarted after a crash or a hang."""

    def __init__(self, target: str, seed: int, timeout: float) -> None:
        self.target, self.seed, self.timeout = target, seed, timeout
        self.ctx = mp.get_context("spawn")
        self.proc: Any = None
        self.conn: Any = None

    def start(self) -> float:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child, self.target, self.seed), daemon=True)
        self.proc.start()
        self.conn = parent
        if not parent.poll(300):
            raise RuntimeError(f"the {self.target} worker did not start")
        return parent.recv()[2]

    def run(self, index: int) -> tuple[str, float]:
        """Outcome of input ``index``: a classify() outcome, ``crash:<signal>`` or ``hang``."""
        try:
            self.conn.send(index)
            cpu, wall = _cpu_seconds(self.proc.pid), time.monotonic()
            while not self.conn.poll(0.25):
                used = _cpu_seconds(self.proc.pid) - cpu
                if used > self.timeout:
                    self._kill()
                    return "hang", 0.0
                if time.monotonic() - wall > WALL_FACTOR * self.timeout:
                    self._kill()
                    return "stalled", 0.0
            _, outcome, peak = self.conn.recv()
            return outcome, peak
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.proc.join()
            return f"crash:{-self.proc.exitcode if self.proc.exitcode else 'exit'}", 0.0

    def _kill(self) -> None:
        self.proc.kill()
        self.proc.join()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    def stop(self) -> None:
        if self.alive():
            self.conn.send(None)
            self.proc.join(10)
        if self.alive():
            self.proc.kill()


def _save(out: Path, target: str, seed: int, index: int, kind: str) -> None:
    sys.path.insert(0, str(ROOT))
    from tests.hardening.fuzz_targets import TARGETS, describe

    folder = out / target
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{kind.replace(':', '-')}-{index}.bin"
    try:
        (folder / name).write_bytes(describe(TARGETS[target].make(_rng(seed, target, index))))
    except Exception as exc:  # noqa: BLE001 - the record below still names the input
        name = f"(not written: {exc})"
    with open(out / "findings.jsonl", "a") as log:
        record = {"target": target, "seed": seed, "index": index, "kind": kind, "file": name}
        log.write(json.dumps(record) + "\n")


def _is_finding(outcome: str) -> bool:
    return outcome in ("hang", "MisDecode") or outcome.startswith(("crash", "untyped"))


def fuzz_target(target: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one target for ``args.seconds`` or ``args.inputs``; return its summary."""
    dog = Watchdog(target, args.seed, args.timeout)
    base_peak = dog.start()
    counts: collections.Counter[str] = collections.Counter()
    peak, start, index = base_peak, time.monotonic(), 0
    def more() -> bool:
        in_time = not args.seconds or time.monotonic() - start < args.seconds
        return (not args.inputs or index < args.inputs) and in_time

    while more():
        if not dog.alive():
            dog.start()
        outcome, now = dog.run(index)
        if outcome in ("stalled", "hang"):
            # Over the limit once: a starved worker (no answer in WALL_FACTOR x timeout of wall time,
            # under the CPU limit) or CPU time inflated by other load (thread pools spin while they
            # wait for a core).  Run the input again in a fresh worker: only an input that is over
            # the limit twice is a hang, so a real one (an endless or slow loop) is still caught.
            counts[f"{outcome}_retried"] += 1
            dog.start()
            outcome, now = dog.run(index)
            outcome = "hang" if outcome == "stalled" else outcome
        counts[outcome] += 1
        if _is_finding(outcome):
            _save(args.out, target, args.seed, index, outcome)
        elif now > args.memory_mb and now > peak:
            _save(args.out, target, args.seed, index, "memory")
            counts["memory"] += 1
        peak = max(peak, now)
        index += 1
    elapsed = time.monotonic() - start
    dog.stop()
    typed = {k: v for k, v in counts.items()
             if not _is_finding(k) and k not in ("ok", "memory", "stalled_retried", "hang_retried")}
    return {
        "target": target, "attempts": index, "seconds": round(elapsed, 1), "ok": counts["ok"],
        "typed_errors": dict(sorted(typed.items())),
        "untyped_errors": {k: v for k, v in counts.items() if k.startswith("untyped")},
        "misdecodes": counts["MisDecode"],
        "crashes": {k: v for k, v in counts.items() if k.startswith("crash")},
        "hangs": counts["hang"], "stalled_then_retried": counts["stalled_retried"],
        "over_cpu_limit_then_retried": counts["hang_retried"],
        "memory_findings": counts["memory"],
        "peak_rss_mib": round(peak, 1), "worker_rss_after_start_mib": round(base_peak, 1),
    }


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.hardening.fuzz_targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="run time per target (default 60; 0 = no limit)")
    parser.add_argument("--inputs", type=int, default=0,
                        help="inputs per target (0 = no limit); with --seconds, whichever comes first")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--timeout", type=float, default=5.0, help="CPU seconds before an input is a hang")
    parser.add_argument("--memory-mb", type=float, default=2048.0, help="worker peak RSS that is a finding")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "fuzz")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # One thread: a worker's CPU time is then its own work, not a pool spinning on a loaded machine.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    results = []
    for target in args.targets:
        result = fuzz_target(target, args)
        results.append(result)
        print(json.dumps(result), flush=True)
    (args.out / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    findings = sum(r["misdecodes"] + r["hangs"] + r["memory_findings"] + sum(r["crashes"].values())
                   + sum(r["untyped_errors"].values()) for r in results)
    print(f"{findings} findings; inputs and summary in {args.out}", flush=True)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
