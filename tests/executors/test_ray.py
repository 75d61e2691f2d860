"""The Ray executor on a local 2-CPU cluster: same bytes as the local executor, resumable after a kill.

Run with ``python -m pytest -q -m ray -n 0`` (one process: the cluster is session-scoped).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcz.cli.main import main
from mcz.errors import ExitCode, FormatError, McZError

pytestmark = pytest.mark.ray


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".mcz-manifest" not in p.parts}


def _coded(folder: Path) -> dict[str, tuple]:
    """Every .mcz file's header and chunks, without the fresh SOP Instance UIDs an encode draws each time.

    (Two local runs differ in exactly those UIDs, the derived instance's identity, and so in the
    header chunk's length; everything else must be byte-identical.)
    """
    from mcz import api

    coded = {}
    for path in sorted(folder.rglob("*.mcz")):
        info = api.read_info(path).to_dict()
        dicom = info["header"]["extra"]["dicom"]
        dicom["sop_instance_uids"] = len(dicom["sop_instance_uids"])
        raw = path.read_bytes()
        chunks = [(c["type"], raw[c["offset"]:c["offset"] + c["length"]]) for c in info["chunks"] if c["type"] != "MHDR"]
        coded[str(path.relative_to(folder))] = (info["header"], chunks)
    return coded


def _fails_on_three(x: int) -> int:
    if x == 3:
        raise FormatError("three is corrupt")
    return os.getpid()


def test_ray_executor_runs_every_item_once_in_actor_processes(ray_cluster):
    from mcz.executors import get_executor

    executor = get_executor("ray", 2)
    outcomes = []
    executor.run(_fails_on_three, list(range(8)), outcomes.append)
    assert sorted(o.index for o in outcomes) == list(range(8))
    failed = [o for o in outcomes if not o.ok]
    assert len(failed) == 1 and isinstance(failed[0].error, FormatError) and failed[0].index == 3
    pids = {o.value for o in outcomes if o.ok}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2  # coded in (at most two) actor processes


def test_ray_encode_and_decode_give_the_local_executor_s_bytes(ray_cluster, seeded_zoo, real_dicoms, tmp_path,
                                                               capsys):
    (real_dicoms / "broken.dcm").write_bytes(b"\x00" * 128 + b"DICM" + b"\x01\x02")
    n = len(list(real_dicoms.rglob("*.dcm")))
    for engine in ("local", "ray"):
        out = tmp_path / f"out-{engine}"
        out.mkdir()
        code = main(["encode", str(real_dicoms), "-o", str(out), "-m", "cae-compact", "--engine", engine, "-j", "2"])
        assert code == ExitCode.PARTIAL_BATCH  # the broken file fails, the others are written
        err = capsys.readouterr().err
        assert f"1 of {n} files failed" in err and "broken.dcm" in err
        dec = tmp_path / f"dec-{engine}"
        assert main(["decode", str(out), "-o", str(dec), "--to", "npy", "--engine", engine]) == ExitCode.OK
    encoded = _coded(tmp_path / "out-local")
    assert len(encoded) == n - 1 and encoded == _coded(tmp_path / "out-ray")
    assert _tree(tmp_path / "dec-local") == _tree(tmp_path / "dec-ray") and len(_tree(tmp_path / "dec-ray")) == n - 1
    from mcz.executors.manifest import Manifest

    rows = Manifest(tmp_path / "out-ray" / ".mcz-manifest").read()  # on by default with --engine ray
    assert len(rows) == n and sum(r.status == "ok" and r.engine == "ray" for r in rows.values()) == n - 1


def test_killed_ray_job_resumes_from_the_manifest_and_codes_every_file_once(ray_cluster, seeded_zoo, tmp_path,
                                                                           capsys):
    from pydicom.data import get_testdata_file

    src = tmp_path / "in"
    src.mkdir()
    n = 40
    for i in range(n):
        shutil.copy(get_testdata_file("CT_small.dcm", download=False), src / f"ct{i:02d}.dcm")
    out = tmp_path / "out"
    out.mkdir()
    argv = ["encode", str(src), "-o", str(out), "-m", "cae-compact", "--per-file", "--engine", "ray",
            "--address", ray_cluster, "-j", "2", "--quiet"]
    job = subprocess.Popen([sys.executable, "-m", "mcz.cli.main", *argv], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, cwd=Path(__file__).parents[2], env=os.environ.copy())
    deadline = time.monotonic() + 120
    while len(list(out.glob("*.mcz"))) < n // 4 and job.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    job.send_signal(signal.SIGKILL)
    job.wait()
    # The killed driver's actors may still finish the files they held (two each) before Ray reaps them:
    # wait until the folder stops changing. Those outputs are complete (atomic) and unrecorded.
    existing: set[str] = set()
    while (now := {p.name for p in out.glob("*.mcz")}) != existing:
        existing = now
        time.sleep(3)
    assert 0 < len(existing) < n, "the job was not killed half-way; make it longer"
    from mcz.executors.manifest import Manifest

    recorded = {Path(s).name.replace(".dcm", ".mcz") for s, r in Manifest(out / ".mcz-manifest").read().items()
                if r.status == "ok"}
    assert recorded and recorded <= existing  # recorded files are written; some written ones are unrecorded

    assert main(argv[:-5] + ["--engine", "ray", "-j", "2"]) == ExitCode.OK  # same cluster (this process's)
    captured = capsys.readouterr()
    coded_now = {Path(line.split(" -> ")[1].split(":")[0]).name for line in captured.out.splitlines()}
    assert coded_now.isdisjoint(existing)  # nothing written before the kill is coded again
    assert coded_now | existing == {f"ct{i:02d}.mcz" for i in range(n)}
    rows = Manifest(out / ".mcz-manifest").read()
    assert len(rows) == n and all(r.status == "ok" for r in rows.values())
    assert f"{len(existing)} of {n} files already done" in captured.err


def test_unreachable_cluster_is_a_usage_error(ray_cluster):
    from mcz.executors.ray import RayExecutor

    executor = RayExecutor(1)  # joins this process's cluster
    assert executor.workers == 1 and "ray (1 actor)" == executor.describe()
    with pytest.raises(McZError, match="CPUs"):
        RayExecutor(None, cpus_per_worker=64)


def test_ray_encodes_to_a_url_with_the_local_bytes_and_resumes_from_a_manifest(ray_cluster, image_folder, tmp_path,
                                                                              capsys):
    pytest.importorskip("fsspec", reason="URL outputs need fsspec (mcz[ray])")
    from mcz.executors.manifest import Manifest

    local, out = tmp_path / "local", tmp_path / "out"
    assert main(["encode", str(image_folder), "-o", str(local), "--quiet"]) == ExitCode.OK
    # file:// goes through fsspec as s3:// does: each actor codes into its own temporary folder, then uploads.
    argv = ["encode", str(image_folder), "-o", out.as_uri(), "--engine", "ray", "-j", "2", "--quiet"]
    assert main(argv) == ExitCode.OK
    assert "pass --manifest DIR to make this job resumable" in capsys.readouterr().err  # a URL gets none by default
    assert _tree(out) == _tree(local) and len(_tree(out)) == 3
    for p in out.rglob("*.mcz"):
        p.unlink()

    argv += ["--manifest", str(tmp_path / "manifest")]
    assert main(argv) == ExitCode.OK and _tree(out) == _tree(local)
    rows = Manifest(tmp_path / "manifest").read()
    assert {r.output for r in rows.values()} == {f"{out.as_uri()}/{name}" for name in _tree(local)}
    assert all(r.status == "ok" and r.engine == "ray" for r in rows.values())
    capsys.readouterr()
    assert main(argv) == ExitCode.OK
    assert "3 of 3 files already done" in capsys.readouterr().err
