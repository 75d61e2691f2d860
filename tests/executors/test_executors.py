"""The executor seam and the resumable manifest, on the local executor (fast, no Ray)."""

from __future__ import annotations

import pytest

from mcz.cli.main import main
from mcz.errors import ExitCode, FormatError, McZError, OutputError, UsageError
from mcz.executors import get_executor, run_one


def _square(x: int) -> int:
    if x == 3:
        raise FormatError("three is corrupt")
    if x == 4:
        raise OSError("disk full")
    if x == 5:
        raise KeyError("bug")
    return x * x


def test_local_executor_reports_every_item_once_with_typed_failures():
    outcomes = []
    get_executor("local", 2).run(_square, list(range(7)), outcomes.append)
    by_index = {o.index: o for o in outcomes}
    assert sorted(by_index) == list(range(7)) and len(outcomes) == 7
    assert [by_index[i].value for i in (0, 1, 2, 6)] == [0, 1, 4, 36]
    assert isinstance(by_index[3].error, FormatError) and by_index[3].error.exit_code == ExitCode.CORRUPT_INPUT
    assert isinstance(by_index[4].error, OutputError)
    assert type(by_index[5].error) is McZError and "internal error KeyError" in str(by_index[5].error)


def test_run_one_times_the_work():
    outcome = run_one(_square, 0, 2)
    assert outcome.ok and outcome.value == 4 and outcome.seconds >= 0


def test_unknown_engine_and_ray_options_on_local_are_usage_errors():
    with pytest.raises(UsageError, match="expected one of local, ray"):
        get_executor("dask")
    with pytest.raises(UsageError, match="apply to --engine ray"):
        get_executor("local", 1, address="auto")
    with pytest.raises(UsageError, match="at least 1"):
        get_executor("local", 0)


def _manifest_rows(path):
    from mcz.executors.manifest import Manifest

    return Manifest(path).read()


def test_manifest_skips_done_files_retries_failed_ones_and_adopts_unrecorded_outputs(
        seeded_zoo, real_dicoms, tmp_path, capsys):
    pytest.importorskip("pyarrow", reason="the manifest needs mcz[ray]")
    broken = real_dicoms / "broken.dcm"
    broken.write_bytes(b"\x00" * 128 + b"DICM" + b"\x01\x02")
    out, manifest = tmp_path / "out", tmp_path / "manifest"
    argv = ["encode", str(real_dicoms), "-o", str(out), "-m", "cae-compact", "--manifest", str(manifest), "-j", "2", "--per-file"]
    assert main(argv) == ExitCode.PARTIAL_BATCH
    rows = _manifest_rows(manifest)
    n = len(list(real_dicoms.rglob("*.dcm")))
    assert len(rows) == n and len(list(manifest.glob("*.parquet"))) == 1  # compacted
    assert rows[str(broken)].status == "failed" and "Pixel Data" in rows[str(broken)].error
    ok = [r for r in rows.values() if r.status == "ok"]
    assert all(len(r.sha256) == 64 and r.bpp > 0 and r.ratio > 1 and r.engine == "local" for r in ok)
    capsys.readouterr()

    # Second run: the failed file is retried (now repaired), the others are skipped.
    broken.unlink()
    import shutil
    from pydicom.data import get_testdata_file

    shutil.copy(get_testdata_file("CT_small.dcm", download=False), broken)
    ct_out = out / "ct.mcz"
    before = ct_out.stat().st_mtime_ns
    assert main(argv) == ExitCode.OK
    captured = capsys.readouterr()
    assert f"{n - 1} of {n} files already done" in captured.err
    assert captured.out.count(" -> ") == 1 and str(broken) in captured.out
    assert ct_out.stat().st_mtime_ns == before
    assert all(r.status == "ok" for r in _manifest_rows(manifest).values())

    # An output the manifest does not list (killed before the flush) is adopted, not coded again.
    from mcz.executors.manifest import Manifest

    m = Manifest(manifest)
    kept = {k: v for k, v in m.read().items() if k != str(real_dicoms / "ct.dcm")}
    for part in m.parts():
        part.unlink()
    m._write(kept.values())
    assert main(argv) == ExitCode.OK
    captured = capsys.readouterr()
    assert f"{n} of {n} files already done" in captured.err and " -> " not in captured.out
    assert ct_out.stat().st_mtime_ns == before
    adopted = _manifest_rows(manifest)[str(real_dicoms / "ct.dcm")]
    assert adopted.status == "ok" and adopted.bpp > 0


def test_damaged_manifest_is_a_format_error(tmp_path):
    pytest.importorskip("pyarrow", reason="the manifest needs mcz[ray]")
    from mcz.executors.manifest import Manifest

    (tmp_path / "part-1.parquet").write_bytes(b"not parquet")
    with pytest.raises(FormatError, match="Move it away"):
        Manifest(tmp_path).read()


class _StubRay:
    """Just enough of the ``ray`` module for RayExecutor's connection and actor options."""

    def __init__(self, initialized: bool) -> None:
        self.initialized, self.options = initialized, None

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs) -> None:
        self.initialized = True

    def cluster_resources(self) -> dict:
        return {"CPU": 2}

    def remote(self, cls):
        stub = self

        class _Remote:
            def options(self, **kwargs):
                stub.options = kwargs
                return self

        return _Remote()


@pytest.mark.parametrize("initialized, address, forwarded", [(False, None, False), (True, None, True),
                                                             (False, "auto", True)])
def test_ray_actors_get_the_environment_only_where_the_cluster_was_not_started_here(
        monkeypatch, initialized, address, forwarded):
    # A cluster this process starts runs its workers in this process's environment: a runtime
    # environment there only costs seconds per job. Any other cluster needs the variables.
    from mcz.executors import ray as ray_executor

    stub = _StubRay(initialized)
    monkeypatch.setattr(ray_executor, "require", lambda *a: stub)
    monkeypatch.setattr(ray_executor, "_started_here", False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ray_executor.RayExecutor(workers=1, address=address)._actor_class()
    env = (stub.options["runtime_env"] or {}).get("env_vars", {})
    assert (env.get("OMP_NUM_THREADS") == "1") == forwarded


_FORK_SCRIPT = """
import json, os, sys, threading
from mcz.executors import get_executor

lock = threading.Lock()  # a closure over a lock cannot be pickled: forked children inherit it


class Work:
    ready = False

    def setup(self):
        self.ready = True

    def __call__(self, item):
        with lock:
            return item, os.getpid(), self.ready


outcomes = []
executor = get_executor("local", 2)
executor.run(Work(), list(range(40)), outcomes.append)
print(json.dumps({"torch": "torch" in sys.modules, "describe": executor.describe(), "parent": os.getpid(),
                  "pids": sorted({o.value[1] for o in outcomes}), "ready": all(o.value[2] for o in outcomes),
                  "items": sorted(o.value[0] for o in outcomes)}))
"""


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="workers are forked on Linux only")
def test_local_workers_are_forked_without_torch_and_threads_with_it():
    # The default model codes in NumPy and holds the GIL: threads did not scale, processes do. A
    # process that has loaded torch must not fork (its OpenMP pool hangs the children): threads.
    import json
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _FORK_SCRIPT], capture_output=True, text=True, timeout=120,
                         check=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert not result["torch"] and "forked" in result["describe"]
    assert result["parent"] not in result["pids"] and 1 <= len(result["pids"]) <= 2
    assert result["ready"], "every worker ran setup() before its first item"
    assert result["items"] == list(range(40))
    import torch  # noqa: F401  (the suite's other tests load it too)

    assert "thread" in get_executor("local", 2).describe()
