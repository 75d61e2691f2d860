"""mcz.remote: outputs at fsspec URLs, uploaded whole (fsspec's memory:// and file:// file systems)."""

from __future__ import annotations

import uuid

import pytest

from mcz import remote
from mcz.errors import OutputError, UsageError

fsspec = pytest.importorskip("fsspec", reason="URL outputs need fsspec (mcz[ray])")


@pytest.fixture
def memory_url():
    """A fresh folder of fsspec's in-process memory file system, removed afterwards."""
    root = f"memory://mcz-test-{uuid.uuid4().hex}"
    yield root
    fs, path = remote.filesystem(root)
    if fs.exists(path):
        fs.rm(path, recursive=True)


@pytest.mark.parametrize("text, expected", [
    ("s3://bucket/key.mcz", True), ("file:///tmp/x", True), ("memory://x", True), ("gs://b", True),
    ("out/", False), ("/tmp/x.mcz", False), ("C://x", False), ("C:\\x", False), ("-", False), (None, False),
])
def test_is_url_tells_urls_from_local_paths(text, expected):
    assert remote.is_url(text) is expected


def test_name_and_join_use_slashes():
    assert remote.name("s3://b/x/a.mcz") == "a.mcz" and remote.name("s3://b/x/") == "x"
    assert remote.join("s3://b/out/", "sub", ".", "a.mcz") == "s3://b/out/sub/a.mcz"


def test_upload_renames_a_temporary_into_place_and_refuses_an_existing_file(tmp_path, memory_url):
    local = tmp_path / "a.mcz"
    local.write_bytes(b"coded")
    url = remote.join(memory_url, "deep", "a.mcz")
    assert remote.upload(local, url) == url
    assert remote.read_bytes(url) == b"coded" and remote.exists(url)
    fs, path = remote.filesystem(memory_url)
    assert [p.rsplit("/", 1)[-1] for p in fs.find(path)] == ["a.mcz"]  # no temporary left
    local.write_bytes(b"new")
    with pytest.raises(OutputError, match="already exists.*--force"):
        remote.upload(local, url)
    with pytest.raises(OutputError, match="already exists"):
        remote.check_new(url, overwrite=False)
    remote.upload(local, url, overwrite=True)
    assert remote.read_bytes(url) == b"new"
    with pytest.raises(OutputError, match="is a folder"):
        remote.upload(local, remote.join(memory_url, "deep"), overwrite=True)


def test_a_failed_rename_leaves_neither_the_output_nor_a_temporary(tmp_path, memory_url, monkeypatch):
    local = tmp_path / "a.mcz"
    local.write_bytes(b"coded")
    fs, path = remote.filesystem(memory_url)

    def broken_mv(*args, **kwargs):
        raise OSError("connection reset")

    monkeypatch.setattr(fs, "mv", broken_mv)
    with pytest.raises(OutputError, match="connection reset"):
        remote.upload(local, remote.join(memory_url, "a.mcz"))
    assert not fs.exists(path) or fs.find(path) == []


def test_an_object_store_gets_one_put_to_the_final_key(tmp_path, memory_url, monkeypatch):
    # memory:// stands in for s3://: on an object store a rename is a copy, and an object appears only whole.
    monkeypatch.setattr(remote, "OBJECT_STORES", remote.OBJECT_STORES | {"memory"})
    fs, root = remote.filesystem(memory_url)
    calls = []
    put_file = fs.put_file
    monkeypatch.setattr(fs, "mv", lambda *a, **k: calls.append("mv"))
    monkeypatch.setattr(fs, "put_file", lambda lpath, rpath, **k: (calls.append(rpath), put_file(lpath, rpath, **k)))
    local = tmp_path / "a.mcz"
    local.write_bytes(b"coded")
    remote.upload(local, remote.join(memory_url, "a.mcz"))
    assert remote.read_bytes(remote.join(memory_url, "a.mcz")) == b"coded" and calls == [f"{root}/a.mcz"]


def test_a_folder_is_uploaded_file_by_file(tmp_path, memory_url):
    series = tmp_path / "series"
    (series / "more").mkdir(parents=True)
    (series / "1.dcm").write_bytes(b"one")
    (series / "more" / "2.dcm").write_bytes(b"two")
    url = remote.join(memory_url, "series")
    remote.upload(series, url)
    assert remote.is_dir(url) and remote.read_bytes(f"{url}/more/2.dcm") == b"two"
    remote.check_new(url, overwrite=False)  # an existing folder passes: its files are checked one by one
    with pytest.raises(OutputError, match="1.dcm already exists"):
        remote.upload(series, url)


def test_local_paths_are_read_without_fsspec(tmp_path):
    (tmp_path / "a").write_bytes(b"x")
    assert remote.exists(tmp_path / "a") and remote.read_bytes(str(tmp_path / "a")) == b"x"
    assert remote.is_dir(tmp_path) and not remote.exists(tmp_path / "b")


def test_a_protocol_fsspec_cannot_serve_is_a_usage_error_naming_the_package():
    with pytest.raises(UsageError, match="knows no nope:// file system"):
        remote.exists("nope://bucket/a.mcz")
    try:
        import s3fs  # noqa: F401
    except ImportError:
        with pytest.raises(UsageError, match="pip install s3fs"):
            remote.upload("a.mcz", "s3://bucket/a.mcz")
    else:
        pytest.skip("s3fs is installed here: s3:// has its implementation")
