"""Fixtures of the executor tests: a folder of real DICOMs and one local Ray cluster per session."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture
def real_dicoms(tmp_path):
    """pydicom's bundled CT and MR and pydicom-data's head CT (if installed), one file per series."""
    from pydicom.data import get_testdata_file

    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(get_testdata_file("CT_small.dcm", download=False), folder / "ct.dcm")
    shutil.copy(get_testdata_file("MR_small.dcm", download=False), folder / "sub" / "mr.dcm")
    head = get_testdata_file("693_UNCR.dcm", download=False)  # pydicom-data (mcz[dev]); optional here
    if head:
        shutil.copy(head, folder / "head.dcm")
    return folder


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray cluster with 2 CPUs for the whole session (start-up costs ~10-15 s on 2 cores)."""
    ray = pytest.importorskip("ray", reason="needs mcz[ray]")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()
