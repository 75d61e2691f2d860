"""Where the derivation goes: top level (single-frame objects) or the enhanced Derivation Image group."""

from __future__ import annotations

import copy

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

import mcz
from mcz.cli.main import main
from mcz.dicom.lossy import LossyStep, mark_lossy
from tests.dicom.helpers import dicom_file

TOP_LEVEL = ("DerivationDescription", "DerivationCodeSequence", "SourceImageSequence")


def _step(reference=True):
    return LossyStep(ratio=12.5, method="MCZ_CAE", description="Lossy compressed by mcz (test)",
                     sop_instance_uid=pydicom.uid.generate_uid(), reference_source=reference)


def _enhanced_header():
    return pydicom.dcmread(dicom_file("eCT_Supplemental.dcm"), stop_before_pixels=True)


def test_an_enhanced_object_gets_a_derivation_image_item_and_evidence():
    ds = _enhanced_header()
    source = copy.deepcopy(ds)
    mark_lossy(ds, _step())
    assert not any(keyword in ds for keyword in TOP_LEVEL)
    item = ds.SharedFunctionalGroupsSequence[0].DerivationImageSequence[-1]
    assert item.DerivationDescription.startswith("Lossy compressed by mcz")
    assert item.DerivationCodeSequence[0].CodeValue == "113040"
    reference = item.SourceImageSequence[0]
    assert reference.ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert reference.ReferencedSOPClassUID == source.SOPClassUID
    assert "ReferencedFrameNumber" not in reference  # the whole source: every frame
    assert reference.PurposeOfReferenceCodeSequence[0].CodeValue == "121320"
    study = ds.SourceImageEvidenceSequence[-1]
    assert study.StudyInstanceUID == source.StudyInstanceUID
    series = study.ReferencedSeriesSequence[-1]
    assert series.SeriesInstanceUID == source.SeriesInstanceUID
    assert series.ReferencedSOPSequence[-1].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert ds.SOPInstanceUID != source.SOPInstanceUID


def test_a_second_step_adds_an_item_and_the_evidence_is_merged():
    ds = _enhanced_header()
    mark_lossy(ds, _step())
    first_source = ds.SOPInstanceUID
    mark_lossy(ds, _step())
    items = ds.SharedFunctionalGroupsSequence[0].DerivationImageSequence
    assert items[-1].SourceImageSequence[0].ReferencedSOPInstanceUID == first_source
    assert items[-2].SourceImageSequence[0].ReferencedSOPInstanceUID != first_source
    series = ds.SourceImageEvidenceSequence[-1].ReferencedSeriesSequence
    assert len(ds.SourceImageEvidenceSequence) == 1 and len(series) == 1  # same study and series
    assert first_source in [r.ReferencedSOPInstanceUID for r in series[0].ReferencedSOPSequence]


def test_per_frame_derivations_stay_per_frame_and_reference_the_same_frame():
    ds = _enhanced_header()
    for index, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        earlier = Dataset()
        earlier.DerivationCodeSequence = Sequence([Dataset()])
        earlier.SourceImageSequence = Sequence([])
        item.DerivationImageSequence = Sequence([earlier])
    shared_before = "DerivationImageSequence" in ds.SharedFunctionalGroupsSequence[0]
    mark_lossy(ds, _step())
    assert ("DerivationImageSequence" in ds.SharedFunctionalGroupsSequence[0]) == shared_before
    for index, item in enumerate(ds.PerFrameFunctionalGroupsSequence):
        assert len(item.DerivationImageSequence) == 2
        assert item.DerivationImageSequence[-1].SourceImageSequence[0].ReferencedFrameNumber == index + 1


def test_without_a_source_or_functional_groups_the_derivation_stays_at_the_top_level():
    ds = _enhanced_header()
    mark_lossy(ds, _step(reference=False))  # the minimal profile: no real source to reference
    assert ds.DerivationCodeSequence[-1].CodeValue == "113040" and "SourceImageSequence" not in ds
    assert "SourceImageEvidenceSequence" not in ds
    flat = pydicom.dcmread(dicom_file("emri_small.dcm"), stop_before_pixels=True)  # Enhanced MR, no groups
    mark_lossy(flat, _step())
    assert "SharedFunctionalGroupsSequence" not in flat
    assert flat.SourceImageSequence[-1].ReferencedSOPInstanceUID


def test_enhanced_ct_round_trip_keeps_its_supplemental_palette(seeded_zoo, tmp_path):
    src = dicom_file("eCT_Supplemental.dcm")
    source = pydicom.dcmread(src)
    coded, out = tmp_path / "x.mcz", tmp_path / "x.dcm"
    assert main(["encode", str(src), "-o", str(coded), "-m", "cae-compact"]) == 0
    assert main(["decode", str(coded), "-o", str(out)]) == 0
    decoded = pydicom.dcmread(out)
    # Pixel Presentation COLOR on MONOCHROME2 pixels: the palette still describes the grey values.
    for keyword in ("RedPaletteColorLookupTableDescriptor", "BluePaletteColorLookupTableData"):
        assert decoded[keyword].value == source[keyword].value, keyword
    item = decoded.SharedFunctionalGroupsSequence[0].DerivationImageSequence[-1]
    assert "cae-compact" in item.DerivationDescription and "DerivationDescription" not in decoded
    np.testing.assert_array_equal(decoded.pixel_array, mcz.decode(coded))


def test_a_colour_palette_read_as_grey_is_dropped():
    from mcz.intensity import intensity_for
    from mcz.io import MedicalImage
    from mcz.io.dicom import dicom_dataset

    header = pydicom.dcmread(dicom_file("eCT_Supplemental.dcm"), stop_before_pixels=True)
    header.PhotometricInterpretation = "PALETTE COLOR"  # as if the pixels had been palette indices
    pixels = np.zeros((1, 8, 8), np.uint16)
    image = MedicalImage(pixels, intensity_for(pixels[0], bits_stored=12), "dicom", (8, 8), "frames-first",
                         dicom=header)
    ds = dicom_dataset(image)
    assert "RedPaletteColorLookupTableData" not in ds and ds.PhotometricInterpretation == "MONOCHROME2"
