"""``mcz encode/decode ... -o URL``: outputs at fsspec URLs (file:// and memory:// here), same bytes as local ones."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from mcz import remote
from mcz.cli.main import main
from mcz.errors import ExitCode

pytest.importorskip("fsspec", reason="URL outputs need fsspec (mcz[ray])")


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _remote_tree(url: str) -> dict[str, bytes]:
    fs, root = remote.filesystem(url)
    return {p[len(root):].lstrip("/"): fs.cat_file(p) for p in sorted(fs.find(root))}


@pytest.fixture
def memory_url():
    """A fresh folder of fsspec's in-process memory file system, removed afterwards."""
    root = f"memory://mcz-cli-{uuid.uuid4().hex}"
    yield root
    fs, path = remote.filesystem(root)
    if fs.exists(path):
        fs.rm(path, recursive=True)


def test_encode_and_decode_to_file_urls_write_the_local_bytes(image_folder, tmp_path, capsys):
    local, url_dir = tmp_path / "local", tmp_path / "url"
    assert main(["encode", str(image_folder), "-o", str(local), "-j", "2", "--quiet"]) == ExitCode.OK
    url = url_dir.as_uri()  # file:///...: through fsspec, as s3:// would be
    assert main(["encode", str(image_folder), "-o", url, "-j", "2", "--quiet"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert f"-> {url}/sub/mr.mcz: " in out and "mcz-stage-" not in out  # the URL, never the local stage
    encoded = _tree(local)
    assert sorted(encoded) == ["ct.mcz", "sub/ct8.mcz", "sub/mr.mcz"] and _tree(url_dir) == encoded  # no temporaries

    assert main(["decode", str(local), "-o", str(tmp_path / "dec-local"), "--to", "npy"]) == ExitCode.OK
    assert main(["decode", str(local), "-o", (tmp_path / "dec-url").as_uri(), "--to", "npy"]) == ExitCode.OK
    decoded = _tree(tmp_path / "dec-local")
    assert len(decoded) == 3 and _tree(tmp_path / "dec-url") == decoded


def test_memory_urls_in_one_in_process_worker_and_single_files(image_folder, tmp_path, memory_url, capsys):
    # memory:// lives in this process: one worker (a thread). Forked workers would each fill their own.
    local = tmp_path / "local"
    assert main(["encode", str(image_folder), "-o", str(local), "--quiet"]) == ExitCode.OK
    assert main(["encode", str(image_folder), "-o", f"{memory_url}/enc", "-j", "1", "--quiet"]) == ExitCode.OK
    assert _remote_tree(f"{memory_url}/enc") == _tree(local)

    one = f"{memory_url}/single/ct.mcz"  # one input to a named file (its folder made on the way)
    assert main(["encode", str(image_folder / "ct.npy"), "-o", one]) == ExitCode.OK
    assert remote.read_bytes(one) == (local / "ct.mcz").read_bytes()
    assert main(["decode", str(local / "ct.mcz"), "-o", f"{memory_url}/ct.npy"]) == ExitCode.OK
    assert main(["decode", str(local / "ct.mcz"), "-o", str(tmp_path / "ct.npy")]) == ExitCode.OK
    assert remote.read_bytes(f"{memory_url}/ct.npy") == (tmp_path / "ct.npy").read_bytes()
    assert f"-> {memory_url}/ct.npy: " in capsys.readouterr().out


def test_an_existing_destination_is_refused_without_force(image_folder, tmp_path, memory_url, capsys):
    url = (tmp_path / "ct.mcz").as_uri()
    (tmp_path / "ct.mcz").write_bytes(b"precious")
    assert main(["encode", str(image_folder / "ct.npy"), "-o", url]) == ExitCode.OUTPUT_ERROR
    assert (tmp_path / "ct.mcz").read_bytes() == b"precious"
    assert f"output {url} already exists" in capsys.readouterr().err
    assert main(["encode", str(image_folder / "ct.npy"), "-o", url, "--force"]) == ExitCode.OK
    assert (tmp_path / "ct.mcz").read_bytes().startswith(b"\x89MCZ")
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []

    fs, root = remote.filesystem(memory_url)
    fs.pipe_file(f"{root}/out/sub/mr.mcz", b"precious")  # one of the batch's three outputs exists
    code = main(["encode", str(image_folder), "-o", f"{memory_url}/out", "-j", "1", "--quiet"])
    assert code == ExitCode.PARTIAL_BATCH and fs.cat_file(f"{root}/out/sub/mr.mcz") == b"precious"
    assert "1 of 3 files failed" in capsys.readouterr().err


def test_two_inputs_to_one_url_are_refused(image_folder, memory_url):
    (image_folder / "other").mkdir()
    (image_folder / "other" / "ct.npy").write_bytes((image_folder / "ct.npy").read_bytes())
    argv = ["encode", str(image_folder / "ct.npy"), str(image_folder / "other" / "ct.npy"), "-o", f"{memory_url}/"]
    assert main(argv) == ExitCode.USAGE


def test_a_manifest_resumes_a_job_whose_outputs_are_at_a_url(image_folder, tmp_path, capsys):
    pytest.importorskip("pyarrow", reason="the manifest needs mcz[ray]")
    from mcz.executors.manifest import Manifest

    out, manifest = tmp_path / "out", tmp_path / "manifest"
    argv = ["encode", str(image_folder), "-o", out.as_uri(), "--manifest", str(manifest), "--quiet"]
    assert main(argv) == ExitCode.OK
    rows = Manifest(manifest).read()
    assert sorted(r.output for r in rows.values()) == [f"{out.as_uri()}/{n}" for n in ("ct.mcz", "sub/ct8.mcz",
                                                                                         "sub/mr.mcz")]
    capsys.readouterr()
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.mcz")}
    assert main(argv) == ExitCode.OK  # everything done: nothing coded, nothing refused
    captured = capsys.readouterr()
    assert "3 of 3 files already done" in captured.err and " -> " not in captured.out

    # An output missing at the URL is coded again; one the manifest lost is adopted (read back through fsspec).
    (out / "sub" / "mr.mcz").unlink()
    m = Manifest(manifest)
    kept = {k: v for k, v in m.read().items() if k != str(image_folder / "ct.npy")}
    for part in m.parts():
        part.unlink()
    m._write(kept.values())
    assert main(argv) == ExitCode.OK
    captured = capsys.readouterr()
    assert "2 of 3 files already done" in captured.err and captured.out.count(" -> ") == 1
    assert (out / "ct.mcz").stat().st_mtime_ns == before[out / "ct.mcz"]
    adopted = Manifest(manifest).read()[str(image_folder / "ct.npy")]
    assert adopted.status == "ok" and adopted.output == f"{out.as_uri()}/ct.mcz" and adopted.bpp > 0


def test_urls_fsspec_cannot_serve_and_url_inputs_are_refused(image_folder, capsys):
    assert main(["encode", str(image_folder), "-o", "nope://bucket/out"]) == ExitCode.USAGE
    assert "fsspec knows no nope:// file system" in capsys.readouterr().err
    assert main(["encode", "file:///tmp/in.npy", "-o", "out"]) == ExitCode.NO_INPUT
    assert "reads from local paths" in capsys.readouterr().err
    try:
        import s3fs  # noqa: F401
    except ImportError:
        assert main(["encode", str(image_folder / "ct.npy"), "-o", "s3://bucket/ct.mcz"]) == ExitCode.USAGE
        assert "pip install s3fs" in capsys.readouterr().err
    else:
        pytest.skip("s3fs is installed here: s3:// has its implementation")


def test_a_series_decodes_to_a_folder_at_a_url(tmp_path):
    from tests.dicom.helpers import make_series

    make_series(tmp_path / "in", positions=(1.0, 2.0, 3.0))
    assert main(["encode", str(tmp_path / "in"), "-o", str(tmp_path / "enc"), "--quiet"]) == ExitCode.OK
    assert main(["encode", str(tmp_path / "in"), "-o", (tmp_path / "enc-url").as_uri(), "--quiet"]) == ExitCode.OK
    [coded] = list((tmp_path / "enc").iterdir())
    assert [p.name for p in (tmp_path / "enc-url").iterdir()] == [coded.name]  # one file, named by the series
    assert main(["decode", str(tmp_path / "enc"), "-o", str(tmp_path / "dec"), "--to", "dcm"]) == ExitCode.OK
    assert main(["decode", str(tmp_path / "enc"), "-o", (tmp_path / "dec-url").as_uri(), "--to", "dcm"]) == 0
    decoded = _tree(tmp_path / "dec")
    assert len(decoded) == 3 and _tree(tmp_path / "dec-url") == decoded


def test_stdin_codes_to_a_url(image_folder, tmp_path, memory_url, monkeypatch, capsys):
    import io
    import types

    def stdin(data: bytes) -> None:
        monkeypatch.setattr("sys.stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))

    stdin((image_folder / "ct.npy").read_bytes())
    assert main(["encode", "-", "-o", f"{memory_url}/ct.mcz"]) == ExitCode.OK
    assert main(["encode", str(image_folder / "ct.npy"), "-o", str(tmp_path / "ct.mcz")]) == ExitCode.OK
    assert remote.read_bytes(f"{memory_url}/ct.mcz") == (tmp_path / "ct.mcz").read_bytes()
    stdin((tmp_path / "ct.mcz").read_bytes())
    assert main(["decode", "-", "-o", f"{memory_url}/ct.npy"]) == ExitCode.OK
    assert main(["decode", str(tmp_path / "ct.mcz"), "-o", str(tmp_path / "ct.npy")]) == ExitCode.OK
    assert remote.read_bytes(f"{memory_url}/ct.npy") == (tmp_path / "ct.npy").read_bytes()
    stdin((tmp_path / "ct.mcz").read_bytes())
    assert main(["decode", "-", "-o", f"{memory_url}/ct.npy"]) == ExitCode.OUTPUT_ERROR  # refused before decoding
    assert "already exists" in capsys.readouterr().err
