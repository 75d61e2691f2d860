"""The bench runner on tiny real frames: rows, resume, lossless exactness, mcz files, matching, CLI."""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mcz.baselines.resolve import resolve_codecs
from mcz.baselines.standard import STANDARD_CODECS, get_codec
from mcz.bench import report, runner, sweeps
from mcz.bench.sets import BenchImage, centre_crop, select_frames
from mcz.errors import ExitCode, OutputError
from mcz.io import MedicalImage

pytest.importorskip("imagecodecs")


def _dicom_crop(name: str, size: int = 64) -> BenchImage:
    """A real pydicom test image, centre-cropped, as a bench image (loaded on demand)."""
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)

    def load() -> MedicalImage:
        from mcz.io import read_image

        image = read_image(path)
        pixels = centre_crop(image.pixels, size)
        return MedicalImage(pixels, image.intensity, "dicom", pixels.shape[1:], "frames-first")

    return BenchImage(f"test/{name}", "tiny", path, load)


@pytest.fixture
def tiny():
    return [_dicom_crop("CT_small.dcm"), _dicom_crop("MR_small.dcm")]


def _options(**kw) -> runner.RunOptions:
    defaults = dict(codecs=resolve_codecs(["j2k", "png", "mcz:cae-compact"]), points=3, repeats=1)
    return runner.RunOptions(**{**defaults, **kw})


def test_run_writes_one_row_per_cell_and_reports(seeded_zoo, tiny, tmp_path):
    stats = runner.run(tiny, tmp_path, _options())
    rows = report.read_results(tmp_path / report.RESULTS)
    # per image: 3 j2k settings + 1 png + 3 mcz qualities (2, 5, 8)
    assert stats.coded == len(rows) == 2 * (3 + 1 + 3) and stats.failed == 0
    assert len({report.cell_key(r) for r in rows}) == len(rows)
    assert {r["codec"] for r in rows} == {"j2k", "png", "mcz:cae-compact"}
    assert sorted({r["point"] for r in rows if r["codec"].startswith("mcz")}) == ["2", "5", "8"]
    for r in rows:
        assert r["bits_stored"] == 16 and r["data_range"] == 65535 and r["dtype"] == "int16"
        assert r["bpp"] == pytest.approx(8 * r["bytes"] / (64 * 64))
        assert r["version"] and r["library"] and r["encode_mpps"] > 0
    lossless = [r for r in rows if r["codec"] == "png"]
    assert all(
        r["psnr"] == math.inf and r["max_abs_error"] == 0 and r["mode"] == "lossless" for r in lossless
    )

    written = report.write_reports(tmp_path, plot=True)
    summary = (tmp_path / report.SUMMARY).read_text()
    assert "## BD-rate (PSNR)" in summary and "vs j2k (full)" in summary and "| mcz:cae-compact |" in summary
    assert "## Speed, relative to JPEG 2000" in summary and "## Lossless codecs" in summary
    pngs = [p for p in written if p.suffix == ".png"]
    assert pngs and all(p.stat().st_size > 5000 for p in pngs)
    assert all(p.with_suffix(".svg").is_file() for p in pngs)


def test_mcz_rows_measure_the_whole_mcz_file(seeded_zoo, tiny, tmp_path):
    import mcz
    from mcz.baselines.contract import to_unsigned
    from mcz.io import from_array

    runner.run(tiny[:1], tmp_path, _options(codecs=resolve_codecs(["mcz:cae-compact"]), points=1))
    (row,) = report.read_results(tmp_path / report.RESULTS)
    pixels = tiny[0].load().pixels[0]
    unsigned, _ = to_unsigned(pixels, tiny[0].load().intensity)
    data = mcz.encode(
        from_array(unsigned, bits_stored=16, signed=False),
        model="cae-compact",
        quality=int(row["setting"]),
        metadata="none",
    )
    assert data.startswith(b"\x89MCZ") and row["bytes"] == len(data)


def test_resume_codes_only_the_missing_cells(seeded_zoo, tiny, tmp_path, monkeypatch):
    options = _options(codecs=resolve_codecs(["j2k", "png"]))
    first = runner.run(tiny, tmp_path, options)
    results = tmp_path / report.RESULTS
    lines = results.read_text().splitlines(keepends=True)
    results.write_text("".join(lines[:4]))  # as if interrupted after 3 cells

    calls = []
    measure = runner.measure
    monkeypatch.setattr(runner, "measure", lambda *a, **k: calls.append(a[0].name) or measure(*a, **k))
    again = runner.run(tiny, tmp_path, options)
    rows = report.read_results(results)
    assert again.skipped == 3 and again.coded == first.coded - 3 == len(calls)
    assert len(rows) == first.coded and len({report.cell_key(r) for r in rows}) == len(rows)

    calls.clear()
    assert runner.run(tiny, tmp_path, options).coded == 0 and not calls


def test_resume_codes_again_the_cells_another_version_of_a_codec_made(tiny, tmp_path):
    # A new checkpoint of a model keeps its codec name: cells coded with the old weights must not
    # be mixed with the new ones on resume.
    import dataclasses

    options = _options(codecs=resolve_codecs(["j2k", "png"]))
    first = runner.run(tiny, tmp_path, options)
    j2k = next(c for c in options.codecs if c.name == "j2k")
    newer = dataclasses.replace(j2k, version_of=lambda: j2k.version + " (rebuilt)")
    again = runner.run(tiny, tmp_path, _options(codecs=[newer, *[c for c in options.codecs if c.name != "j2k"]]))
    rows = report.read_results(tmp_path / report.RESULTS)
    redone = [r for r in rows if r["codec"] == "j2k"]
    assert again.stale == again.coded == len(redone) > 0 and again.skipped == first.coded - len(redone)
    assert {r["version"] for r in redone} == {j2k.version + " (rebuilt)"}
    assert len(rows) == first.coded and len({report.cell_key(r) for r in rows}) == len(rows)
    assert runner.run(tiny, tmp_path, _options(codecs=[newer, *options.codecs[1:]])).stale == 0


def test_ratio_match_hits_the_target_on_a_real_frame(mr12, tmp_path):
    frame, intensity = mr12
    image = BenchImage(
        "mr12",
        "tiny",
        "MR2_UNCR.dcm crop",
        lambda: MedicalImage(frame[None], intensity, "dicom", frame.shape, "frames-first"),
    )
    options = runner.RunOptions(
        codecs=[get_codec("jpeg"), get_codec("j2k")], match="ratio", targets=(10.0,), repeats=1
    )
    runner.run([image], tmp_path, options)
    rows = report.read_results(tmp_path / report.RESULTS)
    assert [r["point"] for r in rows] == ["ratio=10", "ratio=10"]
    for r in rows:
        assert r["mode"] == "match" and r["quantity"] == "ratio" and r["target"] == 10.0
        assert r["reached"] and r["cr"] == pytest.approx(10.0, rel=0.01)
        assert r["cr"] == pytest.approx(r["achieved"])  # the measured file is the matched one


def test_a_failing_cell_is_recorded_and_retried(tiny, tmp_path):
    def broken(frame, bits, setting):
        raise RuntimeError("library exploded")

    from dataclasses import replace

    bad = replace(get_codec("png"), name="broken", encoder=broken)
    stats = runner.run(tiny[:1], tmp_path, runner.RunOptions(codecs=[get_codec("png"), bad], repeats=1))
    assert stats.coded == 1 and stats.failed == 1
    (failure,) = report.read_failures(tmp_path / report.FAILURES)
    assert failure["codec"] == "broken" and "exploded" in failure["message"]
    report.write_reports(tmp_path, plot=False)
    assert "## Failures (1 cells" in (tmp_path / report.SUMMARY).read_text()


@pytest.mark.parametrize("bits", [8, 12, 16])
def test_default_sweeps_lie_in_range_and_rise(bits):
    for codec in STANDARD_CODECS.values():
        if not runner.applicable(codec, bits):
            continue
        settings = sweeps.sweep(codec, bits)
        if codec.lossless:
            assert settings == [None]
            continue
        low, high = codec.span(bits)
        assert len(settings) >= 5 and settings == sorted(settings), codec.name
        assert all(low <= s <= high for s in settings), codec.name
        assert len(sweeps.sweep(codec, bits, points=4)) == 4
        assert sweeps.sweep(codec, bits, points=4)[::3] == [settings[0], settings[-1]]


def test_frames_are_evenly_spaced_and_deterministic():
    assert select_frames(61, None) == list(range(61))
    assert select_frames(61, 4) == [7, 22, 38, 53] == select_frames(61, 4)
    assert select_frames(3, 10) == [0, 1, 2]
    assert centre_crop(np.arange(70).reshape(1, 10, 7), 4)[0, 0].tolist() == [22, 23, 24, 25]
    assert centre_crop(np.zeros((2, 3, 9)), 4).shape == (2, 3, 4)


def test_paper_ratios_are_the_13_lossy_ratios_of_table_2():
    assert (
        len(sweeps.PAPER_RATIOS) == 13 and sweeps.PAPER_RATIOS[0] == 1.72 and sweeps.PAPER_RATIOS[-1] == 81.94
    )


# --- the command ----------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    from mcz.cli.bench import add_parser

    parser = argparse.ArgumentParser(prog="mcz")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.run(args))


def test_parser_builds_without_importing_torch_or_imagecodecs():
    code = (
        "import argparse, sys; from mcz.cli.bench import add_parser; p = argparse.ArgumentParser(); "
        "add_parser(p.add_subparsers(dest='c')); a = p.parse_args(['bench', '--quick', '-j', '2']); "
        "assert a.run.__name__ == 'run_bench' and a.jobs == 2; "
        "print(sorted({'torch', 'imagecodecs', 'numpy', 'matplotlib'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_quick_compares_every_standard_lossy_family():
    """``mcz bench --quick`` codes JPEG-XL and every other standard family the README names, plus mcz."""
    from mcz.baselines.resolve import resolve_codecs
    from mcz.baselines.standard import STANDARD_CODECS
    from mcz.cli.bench import QUICK_CODECS, add_parser

    assert {"jpeg", "j2k", "jpegls", "jxl", "avif", "webp", "mcz"} <= set(QUICK_CODECS)
    assert all(c in STANDARD_CODECS for c in QUICK_CODECS if c != "mcz")
    parser = argparse.ArgumentParser(prog="mcz")
    add_parser(parser.add_subparsers(dest="command"))
    from mcz.cli.bench import run_options

    names = {c.name for c in run_options(parser.parse_args(["bench", "--quick"])).codecs}
    assert {"jxl", "jpeg", "j2k", "jpegls", "avif", "webp"} <= names
    assert {c.name for c in resolve_codecs(["mcz"])} <= names


def test_cli_runs_a_folder_resumes_and_refuses_foreign_folders(tmp_path, capsys):
    from pydicom.data import get_testdata_file

    images = tmp_path / "images"
    images.mkdir()
    (images / "ct.dcm").write_bytes(Path(get_testdata_file("CT_small.dcm")).read_bytes())
    out = tmp_path / "run"
    argv = [
        "bench",
        str(images),
        "--codecs",
        "j2k,png",
        "--points",
        "2",
        "--repeats",
        "1",
        "--crop",
        "64",
        "--no-plot",
        "--out",
        str(out),
    ]
    assert _cli(argv) == ExitCode.OK
    assert {p.name for p in out.iterdir()} == {
        "results.csv",
        "environment.json",
        "summary.md",
        "bd_rates.csv",
    }
    assert _cli(argv) == ExitCode.OK
    assert "0 cells coded, 3 already done" in capsys.readouterr().err
    import json

    runs = json.loads((out / "environment.json").read_text())["runs"]
    assert len(runs) == 2 and runs[0]["codecs"]["j2k"]["threads"] == 1 and runs[0]["machine"]["cpu_count"]

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(OutputError):
        _cli([*argv[:-1], str(foreign)])


@pytest.mark.parametrize("bits", [8, 12, 16])
def test_a_wavelet_model_sweeps_from_low_rate_to_about_one_stored_level(bits):
    """Its quality is a step relative to R, so the sweep must reach 4 * bits (not stop at 8)."""
    pytest.importorskip("compressai")
    from mcz.baselines.mcz_codec import mcz_codec

    codec = mcz_codec("wavelet-ctx")
    settings = sweeps.sweep(codec, bits)
    assert settings[0] == 10 and settings[-1] <= 4 * bits and settings[-1] > 4 * bits - 5
    assert 10 <= len(settings) <= 16 and settings == sorted(settings)
