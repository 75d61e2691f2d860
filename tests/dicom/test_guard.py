"""The guideline table (CAR/DRG/RCR via Urbaniak 2024, Table 1) and the ratio guard: warn, cap, strict."""

from __future__ import annotations

import pydicom
import pytest

import mcz
from mcz.api import encode_with_report
from mcz.cli.main import main
from mcz.dicom import guidelines as g
from mcz.dicom.guard import GuidelineExceededError, RatioPolicy, encode_guarded
from mcz.errors import ExitCode, UsageError
from tests.dicom.helpers import modified_copy

# Table 1 of paper 004 (docs/references.md) as printed: row, lowest accepted ratio (None: "up to"), highest.
PAPER_TABLE = [
    ("CR (chest, skeletal, body)", 10, 30),
    ("CR (pediatric)", None, 30),
    ("CR (mammography)", 15, 25),
    ("CT (head)", 5, 12),
    ("CT (skeleton/chest/lung)", 5, 15),
    ("CT (body)", 10, 15),
    ("CT (angio, pediatric)", None, 15),
    ("MR", 5, 24),
    ("NM", None, 11),
    ("US", 10, 12),
    ("XA, XRF", 6, 6),
]


def test_table_is_the_papers_table_row_for_row():
    assert [(row.name, row.low, row.high) for row in g.TABLE] == PAPER_TABLE
    assert g.MR.least_permissive == "Germany (7:1), UK (5:1)"
    assert g.CR_MAMMOGRAPHY.most_permissive == "Canada (25:1)"


@pytest.mark.parametrize(
    ("modality", "part", "kw", "expected"),
    [
        ("CT", "HEAD", {}, g.CT_HEAD),
        ("CT", "brain", {}, g.CT_HEAD),
        ("CT", "CHEST", {}, g.CT_SKELETON_CHEST_LUNG),
        ("CT", "LSPINE", {}, g.CT_SKELETON_CHEST_LUNG),
        ("CT", "ABDOMEN", {}, g.CT_BODY),
        ("CT", None, {}, g.CT_SKELETON_CHEST_LUNG),  # unknown: the most permissive CT row (15:1)
        ("CT", "HEAD", {"pediatric": True}, g.CT_HEAD),  # several rows: the strictest
        ("CT", None, {"angio": True}, g.CT_ANGIO_PEDIATRIC),
        ("CR", "CHEST", {}, g.CR_BODY),
        ("CR", None, {}, g.CR_BODY),
        ("DX", "BREAST", {}, g.CR_MAMMOGRAPHY),
        ("CR", "CHEST", {"pediatric": True}, g.CR_PEDIATRIC),
        ("MG", "BREAST", {}, g.CR_MAMMOGRAPHY),
        ("MR", "KNEE", {}, g.MR),
        ("NM", None, {}, g.NM),
        ("US", "ABDOMEN", {}, g.US),
        ("XA", None, {}, g.XA_XRF),
        ("RF", None, {}, g.XA_XRF),
        ("PT", None, {}, None),
        ("OT", None, {}, None),
        (None, None, {}, None),
    ],
)
def test_lookup(modality, part, kw, expected):
    assert g.guideline_for(modality, part, **kw) == expected


def test_lookup_from_a_header_reads_age_and_angio():
    ds = pydicom.Dataset()
    ds.Modality, ds.BodyPartExamined, ds.PatientAge = "CR", "CHEST", "007Y"
    assert g.guideline_for_dataset(ds) == g.CR_PEDIATRIC
    ds.PatientAge = "000Y"  # the usual filler of an unknown age
    assert g.guideline_for_dataset(ds) == g.CR_BODY
    ds.Modality, ds.BodyPartExamined, ds.SeriesDescription = "CT", "", "CTA angio runoff"
    assert g.guideline_for_dataset(ds) == g.CT_ANGIO_PEDIATRIC
    assert g.guideline_for_dataset(None) is None


@pytest.mark.parametrize(("text", "cap"), [(None, None), ("auto", "auto"), ("15", 15.0), ("12.5:1", 12.5)])
def test_policy_parse(text, cap):
    assert RatioPolicy.parse(text).max_ratio == cap


@pytest.mark.parametrize("text", ["fast", "0.5", "nan", "-3"])
def test_policy_parse_refuses(text):
    with pytest.raises(UsageError, match="max-ratio|max_ratio"):
        RatioPolicy.parse(text)


LADDER = {1: 20.0, 2: 16.0, 3: 14.0, 4: 10.0, 5: 9.0}


def _guarded(start, policy, guideline=g.CT_BODY):
    return encode_guarded(lambda q: bytes([q]), lambda data: LADDER[data[0]], start, 5, guideline, policy)


def test_cap_raises_quality_only_as_far_as_needed():
    outcome = _guarded(1, RatioPolicy("auto"))
    assert (outcome.quality, outcome.ratio, outcome.cap) == (3, 14.0, 15.0)
    # Galloping from the requested quality (1, 2, 4), then bisecting the gap: 3 is the lowest within the cap.
    assert outcome.tried == ((1, 20.0), (2, 16.0), (4, 10.0), (3, 14.0))
    assert [n.level for n in outcome.notices] == ["info"] and "quality 3 chosen" in outcome.notices[0].text


def test_cap_never_lowers_the_requested_quality():
    assert _guarded(4, RatioPolicy(15.0)).quality == 4


def test_no_cap_warns_above_the_guideline_and_strict_refuses():
    outcome = _guarded(1, RatioPolicy())
    assert outcome.quality == 1 and [n.level for n in outcome.notices] == ["warning"]
    assert "20.0:1 exceeds" in outcome.notices[0].text and "CT (body) 10:1-15:1" in outcome.notices[0].text
    with pytest.raises(GuidelineExceededError, match="--strict"):
        _guarded(1, RatioPolicy(strict=True))


def test_unreachable_cap_warns_or_fails():
    outcome = _guarded(1, RatioPolicy(5.0))
    assert outcome.quality == 5 and "no quality reaches the cap of 5:1" in outcome.notices[-1].text
    with pytest.raises(GuidelineExceededError):
        _guarded(1, RatioPolicy(5.0, strict=True))


def test_auto_without_a_guideline_is_not_capped():
    outcome = _guarded(1, RatioPolicy("auto"), guideline=None)
    assert outcome.quality == 1 and outcome.cap is None and outcome.notices[0].level == "info"


def test_real_quality_ladder_meets_the_guideline(tmp_path):
    """The shipped default model searches up its quality ladder for the lowest quality within the cap."""
    src = modified_copy("CT_small.dcm", tmp_path / "chest.dcm", BodyPartExamined="CHEST")
    start = 18  # too coarse for 15:1 on this 128 x 128 CT: the ladder must climb
    outcome = encode_with_report(src, model="wavelet-ctx", quality=start, metadata="minimal", max_ratio="auto")
    assert outcome.cap == 15.0 and outcome.guideline == g.CT_SKELETON_CHEST_LUNG
    assert outcome.ratio <= 15.0
    assert outcome.ratio == pytest.approx(mcz.read_info(outcome.data).compression_ratio)
    tried = dict(outcome.tried)
    # The lowest quality within the cap: the one below it was tried and exceeded the cap.
    assert len(tried) > 1 and outcome.quality > start and tried[outcome.quality - 1] > 15.0
    assert len(tried) < outcome.quality - start + 1, "fewer encodings than stepping up one quality at a time"
    assert all(ratio > 15.0 for q, ratio in outcome.tried if q < outcome.quality)  # nothing lower would have done
    assert mcz.read_info(outcome.data).header.quality == outcome.quality


def test_cli_numeric_cap_reports_the_chosen_quality(seeded_zoo, tmp_path, capsys):
    out = tmp_path / "ct.mcz"
    src = modified_copy("CT_small.dcm", tmp_path / "ct.dcm")
    argv = ["encode", str(src), "-o", str(out), "-m", "cae-compact", "-q", "1", "--max-ratio", "12"]
    assert main(argv) == 0
    info = mcz.read_info(out)
    err = capsys.readouterr().err
    assert f"quality {info.header.quality} chosen for a cap of 12:1" in err
    assert info.compression_ratio <= 12.0 and info.header.quality > 1


def test_cli_strict_fails_and_writes_nothing(seeded_zoo, tmp_path, capsys):
    src = modified_copy("CT_small.dcm", tmp_path / "head.dcm", BodyPartExamined="HEAD")
    out = tmp_path / "head.mcz"
    argv = ["encode", str(src), "-o", str(out), "-m", "cae-compact", "--metadata", "none"]
    assert main([*argv, "--strict"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "CT (head) 5:1-12:1" in err and "--strict" in err and not out.exists()
    assert main(argv) == ExitCode.OK  # without --strict: one warning line, the file is written
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mcz: warning:") and "exceeds" in lines[0]


def test_cli_refuses_a_bad_max_ratio(seeded_zoo, tmp_path):
    src = modified_copy("CT_small.dcm", tmp_path / "ct.dcm")
    assert main(["encode", str(src), "--max-ratio", "lots"]) == ExitCode.USAGE


def test_advice_never_contradicts_the_policy_in_force():
    """With a cap in force, nothing advises --max-ratio auto; the bounded modes are named."""
    unreachable = _guarded(1, RatioPolicy(5.0))
    texts = [n.text for n in unreachable.notices if n.level == "warning"]
    assert texts and all("--max-ratio auto" not in t and "--lossless" in t and "--max-error" in t for t in texts)
    with pytest.raises(GuidelineExceededError) as info:
        _guarded(1, RatioPolicy(5.0, strict=True))
    assert "--max-ratio auto" not in str(info.value) and "--max-error" in str(info.value)
    uncapped = _guarded(1, RatioPolicy())
    assert "--max-ratio auto" in uncapped.notices[0].text and "--max-error" in uncapped.notices[0].text


def _nifti_ct(tmp_path):
    """A noisy 16-bit CT-like NIfTI volume (HU ramp), which codes far above any guideline by default."""
    import nibabel as nib
    import numpy as np

    rng = np.random.default_rng(0)
    vol = (rng.normal(0, 300, (64, 64, 4)) + np.linspace(-1000, 2000, 64)[:, None, None]).astype(np.int16)
    path = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(vol, np.eye(4)), str(path))
    return path


def test_a_nifti_source_is_held_to_the_most_permissive_guideline_of_any_modality(tmp_path):
    """NIfTI names no modality, so a lossy ratio above every row warns (as for DICOM)."""
    assert g.ANY_MODALITY.high == max(row.high for row in g.ROWS) == 30
    path = _nifti_ct(tmp_path)
    coarse = encode_with_report(path, quality=4)
    assert coarse.ratio > 30
    assert any(n.level == "warning" and "any modality" in n.text for n in coarse.notices)
    with pytest.raises(GuidelineExceededError):
        encode_with_report(path, quality=4, strict=True)
    capped = encode_with_report(path, quality=4, max_ratio="auto")
    assert capped.ratio <= 30 and capped.cap == 30


def test_an_array_or_png_still_has_no_guideline(tmp_path):
    import numpy as np

    image = (np.random.default_rng(1).normal(100, 20, (64, 64))).clip(0, 255).astype(np.uint8)
    outcome = encode_with_report(image, quality=0)
    assert outcome.guideline is None and not [n for n in outcome.notices if n.level == "warning"]
