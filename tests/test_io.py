"""Reading and writing images (mcz.io) on real DICOM files and round trips through every format."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcz.errors import (
    BitDepthError,
    ImageReadError,
    InputNotFoundError,
    OutputError,
    UnsupportedError,
    UsageError,
)
from mcz.io import (
    SUPPORTED_READ,
    SUPPORTED_WRITE,
    MedicalImage,
    frames_view,
    from_array,
    from_frames,
    read_image,
    write_image,
)

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file

RNG = np.random.default_rng(7)


def dicom_file(name: str) -> Path:
    """A file bundled with pydicom or pydicom-data (single-name lookup: never the network)."""
    path = get_testdata_file(name, download=False)  # never the network
    if path is None:
        pytest.skip(f"{name} is not in the installed pydicom test data")
    return Path(path)


def need_decoder(path: Path) -> None:
    from pydicom.pixels import get_decoder

    syntax = pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID
    decoder = get_decoder(syntax)
    if not decoder.is_available:
        pytest.skip(f"no pydicom decoder for {syntax.name}: {decoder.missing_dependencies}")


def pydicom_pixels(path: Path) -> np.ndarray:
    arr = pydicom.dcmread(path).pixel_array
    return arr.astype(arr.dtype.newbyteorder("="))


# --------------------------------------------------------------------------- real DICOM files

DICOM_CASES = [
    # name, shape, dtype, bits_stored, signed, photometric, slope, intercept
    ("CT_small.dcm", (128, 128), "int16", 16, True, "MONOCHROME2", 1.0, -1024.0),
    ("MR_small.dcm", (64, 64), "int16", 16, True, "MONOCHROME2", 1.0, 0.0),
    ("MR_small_bigendian.dcm", (64, 64), "int16", 16, True, "MONOCHROME2", 1.0, 0.0),
    ("emri_small.dcm", (10, 64, 64), "uint16", 12, False, "MONOCHROME2", 1.0, 0.0),
    ("rtdose.dcm", (15, 10, 10), "uint32", 32, False, "MONOCHROME2", 1.0, 0.0),
    ("liver.dcm", (3, 512, 512), "uint8", 1, False, "MONOCHROME2", 1.0, 0.0),
    ("RG1_UNCR.dcm", (1955, 1841), "uint16", 15, False, "MONOCHROME1", 1.0, 0.0),
    # compressed transfer syntaxes
    ("MR_small_jp2klossless.dcm", (64, 64), "int16", 16, True, "MONOCHROME2", 1.0, 0.0),
    ("emri_small_jpeg_2k_lossless.dcm", (10, 64, 64), "uint16", 12, False, "MONOCHROME2", 1.0, 0.0),
    ("emri_small_jpeg_ls_lossless.dcm", (10, 64, 64), "uint16", 12, False, "MONOCHROME2", 1.0, 0.0),
    ("MR_small_RLE.dcm", (64, 64), "int16", 16, True, "MONOCHROME2", 1.0, 0.0),
    ("JPEG-LL.dcm", (1024, 256), "int16", 16, True, "MONOCHROME2", 1.0, 0.0),
    ("MR2_J2KR.dcm", (1024, 1024), "uint16", 12, False, "MONOCHROME2", 3.774114, 0.000061),
]


@pytest.mark.parametrize(
    ("name", "shape", "dtype", "bits", "signed", "photometric", "slope", "intercept"), DICOM_CASES
)
def test_real_dicom_matches_pydicom(name, shape, dtype, bits, signed, photometric, slope, intercept):
    path = dicom_file(name)
    need_decoder(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # none of these files violates Bits Stored
        image = read_image(path)
    it = image.intensity
    assert image.source_format == "dicom" and image.layout == "frames-first"
    assert image.original_shape == shape
    assert image.pixels.shape == ((1,) + shape if len(shape) == 2 else shape)
    assert image.pixels.flags["C_CONTIGUOUS"] and image.pixels.dtype.isnative
    assert (it.dtype, it.bits_stored, it.signed, it.photometric) == (dtype, bits, signed, photometric)
    assert (it.low, it.high) == ((-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1))
    assert it.slope == pytest.approx(slope) and it.intercept == pytest.approx(intercept)
    np.testing.assert_array_equal(image.source_array(), pydicom_pixels(path))
    # the header is kept without its pixels
    assert "PixelData" not in image.dicom and "Rows" in image.dicom
    assert image.dicom.SOPInstanceUID == pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID


@pytest.mark.parametrize(
    ("compressed", "plain"),
    [
        ("MR_small_jp2klossless.dcm", "MR_small.dcm"),
        ("emri_small_jpeg_2k_lossless.dcm", "emri_small.dcm"),
        ("emri_small_jpeg_ls_lossless.dcm", "emri_small.dcm"),
        ("MR_small_RLE.dcm", "MR_small.dcm"),
        ("MR_small_bigendian.dcm", "MR_small.dcm"),
    ],
)
def test_lossless_encodings_give_the_uncompressed_pixels(compressed, plain):
    path = dicom_file(compressed)
    need_decoder(path)
    np.testing.assert_array_equal(read_image(path).pixels, read_image(dicom_file(plain)).pixels)


def test_compressed_header_keeps_its_transfer_syntax_as_information():
    path = dicom_file("emri_small_jpeg_2k_lossless.dcm")
    need_decoder(path)
    image = read_image(path)
    assert image.dicom.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.90"
    assert not any(elem.tag.group == 0x7FE0 for elem in image.dicom)


def test_missing_decoder_plugin_names_the_pip_package(monkeypatch):
    from pydicom.pixels.decoders.base import Decoder

    path = dicom_file("MR_small_jp2klossless.dcm")
    monkeypatch.setattr(Decoder, "is_available", property(lambda self: False))
    with pytest.raises(ImageReadError, match="pip install pylibjpeg pylibjpeg-openjpeg"):
        read_image(path)


@pytest.mark.parametrize("name", ["SC_rgb.dcm", "US1_J2KR.dcm", "SC_rgb_jpeg_dcmtk.dcm"])
def test_colour_dicom_needs_grey(name):
    path = dicom_file(name)
    need_decoder(path)
    with pytest.raises(UnsupportedError, match="grey=True"):
        read_image(path)
    image = read_image(path, grey=True)
    rgb = pydicom.dcmread(path).pixel_array.astype(np.float64)  # pydicom gives RGB for YBR too
    luma = np.rint(rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114)
    np.testing.assert_array_equal(image.pixels[0], luma.astype(np.uint8))
    assert image.intensity.photometric == "MONOCHROME2" and image.intensity.bits_stored == 8


def test_palette_dicom_grey():
    path = dicom_file("OBXXXX1A.dcm")  # PALETTE COLOR ultrasound
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    assert ds.PhotometricInterpretation == "PALETTE COLOR"
    with pytest.raises(UnsupportedError, match="PALETTE COLOR"):
        read_image(path)
    image = read_image(path, grey=True)
    assert image.pixels.shape == (1, ds.Rows, ds.Columns)
    assert image.intensity.photometric == "MONOCHROME2"


def _dicom_variant(tmp_path: Path, name: str, values: np.ndarray, bits_stored: int) -> Path:
    ds = pydicom.dcmread(dicom_file(name))
    ds.Rows, ds.Columns = values.shape
    if "NumberOfFrames" in ds:
        ds.NumberOfFrames = 1
    ds.BitsStored, ds.HighBit = bits_stored, bits_stored - 1
    ds.PixelData = values.tobytes()
    out = tmp_path / "variant.dcm"
    ds.save_as(out)
    return out


def test_values_beyond_bits_stored_are_kept_and_widened_with_a_warning(tmp_path):
    values = np.array([[0, 100], [4095, 5000]], np.uint16)  # 5000 needs 13 bits, header says 12
    path = _dicom_variant(tmp_path, "emri_small.dcm", values, 12)
    assert pydicom.dcmread(path).pixel_array[1, 1] == 5000 & 0xFFF  # pydicom alone masks it to 904
    with pytest.warns(UserWarning, match=r"BitsStored=12 does not hold these pixels.*14-bit"):
        image = read_image(path)
    np.testing.assert_array_equal(image.pixels[0], values)
    assert image.intensity.bits_stored == 14


def test_signed_values_without_sign_extension_are_read_as_pydicom_does(tmp_path):
    values = np.array([[-5, 100], [2047, -2048]], np.int16)
    unextended = (values.astype(np.uint16) & 0x0FFF).view(np.int16)  # a legal 12-bit encoding
    path = _dicom_variant(tmp_path, "CT_small.dcm", unextended, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        image = read_image(path)
    np.testing.assert_array_equal(image.pixels[0], values)
    assert (image.intensity.bits_stored, image.intensity.low) == (12, -2048)


# --------------------------------------------------------------------------- DICOM output


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "emri_small.dcm",
        "MR_small_bigendian.dcm",
        "rtdose.dcm",
        "emri_small_jpeg_2k_lossless.dcm",
    ],
)
@pytest.mark.filterwarnings("ignore:Invalid value for VR UI")  # rtdose.dcm carries a 41-character UID
def test_dicom_write_read_round_trip_from_a_read_dicom(tmp_path, name):
    path = dicom_file(name)
    need_decoder(path)
    image = read_image(path)
    out = write_image(tmp_path / "out.dcm", image)
    written = pydicom.dcmread(out)
    source = pydicom.dcmread(path)
    assert written.file_meta.TransferSyntaxUID == pydicom.uid.ExplicitVRLittleEndian
    assert written.pixel_array.dtype == image.pixels.dtype
    np.testing.assert_array_equal(written.pixel_array, pydicom_pixels(path))
    for keyword in (
        "SOPInstanceUID",
        "SOPClassUID",
        "PatientName",
        "BitsStored",
        "PixelRepresentation",
        "Rows",
        "Columns",
        "PhotometricInterpretation",
        "RescaleIntercept",
        "RescaleSlope",
        "NumberOfFrames",
        "StudyInstanceUID",
    ):
        assert written.get(keyword) == source.get(keyword), keyword
    back = read_image(out)
    assert back.intensity == image.intensity
    np.testing.assert_array_equal(back.pixels, image.pixels)


@pytest.mark.parametrize(
    ("array", "kwargs", "sop", "conformant"),
    [
        (np.arange(60 * 70, dtype=np.uint16).reshape(60, 70) % 4096, {}, "1.2.840.10008.5.1.4.1.1.7", True),
        (
            (np.arange(3 * 20 * 30) - 1500).astype(np.int16).reshape(3, 20, 30),
            {"slope": 1.0, "intercept": -1024.0, "photometric": "MONOCHROME1"},
            "1.2.840.10008.5.1.4.1.1.7.3",
            False,  # signed, rescaled MONOCHROME1 frames: no SC IOD holds them
        ),
        (
            (np.arange(4 * 20 * 30) - 1500).astype(np.int16).reshape(4, 20, 30),
            {"slope": 2.5},
            "1.2.840.10008.5.1.4.1.1.7.3",
            False,
        ),
        (np.arange(5 * 9 * 11, dtype=np.uint8).reshape(5, 9, 11), {}, "1.2.840.10008.5.1.4.1.1.7.2", True),
        (np.arange(4 * 9 * 11, dtype=np.uint16).reshape(4, 9, 11) * 9, {}, "1.2.840.10008.5.1.4.1.1.7.3", True),
        (np.arange(9 * 11, dtype=np.int32).reshape(9, 11) * 40000, {}, "1.2.840.10008.5.1.4.1.1.7", True),
    ],
)
def test_dicom_secondary_capture_from_an_array(tmp_path, array, kwargs, sop, conformant):
    from mcz.io.dicom_capture import ConformanceWarning

    image = from_array(array, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = write_image(tmp_path / "sc.dcm", image)
    assert any(issubclass(w.category, ConformanceWarning) for w in caught) is not conformant
    ds = pydicom.dcmread(out)
    assert ds.SOPClassUID == sop and ds.file_meta.MediaStorageSOPClassUID == sop
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
    assert ds.BitsAllocated == array.dtype.itemsize * 8 and ds.BitsStored == image.intensity.bits_stored
    assert ds.HighBit == ds.BitsStored - 1 and ds.PixelRepresentation == int(array.dtype.kind == "i")
    assert ds.PhotometricInterpretation == image.intensity.photometric
    assert ds.pixel_array.dtype == array.dtype
    np.testing.assert_array_equal(ds.pixel_array, array)
    back = read_image(out)
    assert back.intensity == image.intensity
    rescaled = image.intensity.slope != 1.0 or image.intensity.intercept != 0.0
    multi_frame = array.ndim == 3
    # The SC Multi-frame Image module requires the (identity) rescale; a single frame has none unless rescaled.
    assert ("RescaleSlope" in ds) == (rescaled or multi_frame)
    assert ("RescaleType" in ds) == (rescaled or multi_frame)
    if multi_frame:
        assert ds.BurnedInAnnotation == "NO" and len(ds.FrameLabelVector) == array.shape[0]
        assert ds.FrameIncrementPointer == 0x00182002


def test_dicom_unsigned_domain_in_signed_dtype_keeps_dtype(tmp_path):
    array = np.array([[0, 30000]], np.int16)
    image = from_array(array, signed=False)
    assert image.intensity.bits_stored == 15
    ds = pydicom.dcmread(write_image(tmp_path / "u.dcm", image))
    assert (ds.PixelRepresentation, ds.BitsStored) == (1, 16)
    assert ds.pixel_array.dtype == np.int16
    np.testing.assert_array_equal(ds.pixel_array, array)


def test_dicom_float_pixels_need_a_source_header(tmp_path):
    data = RNG.standard_normal((2, 8, 9)).astype(np.float32)
    with pytest.raises(UsageError, match="source DICOM header"):
        write_image(tmp_path / "f.dcm", from_array(data))
    assert list(tmp_path.iterdir()) == []
    header = read_image(dicom_file("MR_small.dcm")).dicom
    image = from_array(data)
    image.dicom = header
    ds = pydicom.dcmread(write_image(tmp_path / "f.dcm", image))
    assert "FloatPixelData" in ds and "BitsStored" not in ds and ds.BitsAllocated == 32
    np.testing.assert_array_equal(ds.pixel_array, data)
    back = read_image(tmp_path / "f.dcm")
    assert back.intensity.dtype == "float32"
    np.testing.assert_array_equal(back.pixels, data)


def test_grey_converted_dicom_header_is_monochrome_when_written(tmp_path):
    image = read_image(dicom_file("SC_rgb.dcm"), grey=True)
    ds = pydicom.dcmread(write_image(tmp_path / "g.dcm", image))
    assert (ds.SamplesPerPixel, ds.PhotometricInterpretation) == (1, "MONOCHROME2")
    assert "PlanarConfiguration" not in ds
    np.testing.assert_array_equal(ds.pixel_array, image.pixels[0])


# --------------------------------------------------------------------------- layouts


@settings(max_examples=80, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=2, max_size=5),
    layout=st.sampled_from(["frames-first", "frames-last"]),
)
def test_frames_view_is_exactly_inverted(shape, layout):
    a = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    f = frames_view(a, layout)
    assert f.ndim == 3 and f.flags["C_CONTIGUOUS"]
    plane = tuple(shape[-2:]) if layout == "frames-first" else tuple(shape[:2])
    assert f.shape[1:] == plane
    back = from_frames(f, tuple(shape), layout)
    assert back.shape == tuple(shape)
    np.testing.assert_array_equal(back, a)


def test_frames_last_orders_z_fastest():
    vol = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)  # x, y, z, t
    f = frames_view(vol, "frames-last")
    assert f.shape == (20, 2, 3)
    np.testing.assert_array_equal(f[1], vol[:, :, 1, 0])
    np.testing.assert_array_equal(f[4 + 2], vol[:, :, 2, 1])
    np.testing.assert_array_equal(frames_view(np.ones((4, 5)), "frames-first").shape, (1, 4, 5))
    np.testing.assert_array_equal(frames_view(np.ones((2, 3, 4, 5)), "frames-first").shape, (6, 4, 5))


def test_medical_image_validates_its_fields():
    it = from_array(np.zeros((4, 5), np.uint8)).intensity
    with pytest.raises(UsageError):
        MedicalImage(np.zeros((1, 4, 5), np.uint16), it, "array", (4, 5), "frames-first")
    with pytest.raises(UsageError):
        MedicalImage(np.zeros((1, 4, 5), np.uint8), it, "array", (5, 4), "frames-first")
    with pytest.raises(UsageError):
        MedicalImage(np.zeros((1, 4, 5), np.uint8), it, "array", (4, 5), "sideways")
    with pytest.raises(UsageError):
        from_array(np.zeros(5, np.uint8))
    image = from_array(np.zeros((4, 5), np.uint8))
    assert (image.frames, image.rows, image.columns, image.original_shape) == (1, 4, 5, (4, 5))
    with pytest.raises(BitDepthError):
        from_array(np.array([[0, 300]], np.uint16), bits_stored=8)


# --------------------------------------------------------------------------- NIfTI


def _nifti_volume(tmp_path: Path, name: str = "vol.nii.gz", shape=(6, 7, 5), slope=None):
    nib = pytest.importorskip("nibabel")
    data = (RNG.integers(-1000, 3000, size=shape)).astype(np.int16)
    affine = np.array([[0.0, -0.8, 0.0, 90.0], [0.9, 0.0, 0.0, -120.0], [0.0, 0.0, 2.5, 33.0], [0, 0, 0, 1]])
    img = nib.Nifti1Image(data, affine)
    if slope is not None:
        img.header.set_slope_inter(*slope)
    path = tmp_path / name
    nib.save(img, path)
    return path, data, affine


@pytest.mark.parametrize("name", ["vol.nii.gz", "vol.nii"])
def test_nifti_read_keeps_stored_dtype_affine_and_layout(tmp_path, name):
    path, data, affine = _nifti_volume(tmp_path, name, slope=(0.5, -10.0))
    image = read_image(path)
    assert image.source_format == "nifti" and image.layout == "frames-last"
    assert image.original_shape == data.shape and image.pixels.shape == (5, 6, 7)
    assert image.intensity.dtype == "int16" and image.intensity.signed
    assert (image.intensity.slope, image.intensity.intercept) == (0.5, -10.0)
    np.testing.assert_array_equal(image.pixels[3], data[:, :, 3])
    np.testing.assert_array_equal(image.source_array(), data)
    np.testing.assert_allclose(image.nifti_affine, affine, atol=1e-6)
    assert len(image.nifti_header) == 348


@pytest.mark.parametrize("out_name", ["out.nii.gz", "out.nii"])
def test_nifti_write_read_round_trip(tmp_path, out_name):
    nib = pytest.importorskip("nibabel")
    path, data, affine = _nifti_volume(tmp_path, shape=(6, 7, 5, 2), slope=(2.0, -1024.0))
    image = read_image(path)
    out = write_image(tmp_path / out_name, image)
    back = read_image(out)
    np.testing.assert_array_equal(back.source_array(), data)
    np.testing.assert_array_equal(back.pixels, image.pixels)
    np.testing.assert_allclose(back.nifti_affine, affine, atol=1e-6)
    assert back.intensity == image.intensity
    loaded = nib.load(out)  # what any NIfTI reader sees: the real values
    np.testing.assert_allclose(loaded.get_fdata(), data * 2.0 - 1024.0)
    assert (out_name.endswith(".gz")) == (out.read_bytes()[:2] == b"\x1f\x8b")


def test_nifti_from_a_dicom_stack_puts_frames_last(tmp_path):
    nib = pytest.importorskip("nibabel")
    image = read_image(dicom_file("emri_small.dcm"))
    out = write_image(tmp_path / "emri.nii.gz", image)
    data = np.asarray(nib.load(out).dataobj)
    assert data.shape == (64, 64, 10) and data.dtype == np.uint16
    np.testing.assert_array_equal(np.moveaxis(data, 2, 0), image.pixels)
    np.testing.assert_array_equal(nib.load(out).affine, np.eye(4))


def test_nifti2_is_read_too(tmp_path):
    nib = pytest.importorskip("nibabel")
    data = RNG.integers(0, 1000, (4, 5, 6)).astype(np.uint16)
    nib.save(nib.Nifti2Image(data, np.diag([2.0, 2.0, 3.0, 1.0])), tmp_path / "v2.nii")
    image = read_image(tmp_path / "v2.nii")
    assert len(image.nifti_header) == 540 and image.intensity.bits_stored == 10
    np.testing.assert_array_equal(image.source_array(), data)
    back = read_image(write_image(tmp_path / "w2.nii.gz", image))
    assert len(back.nifti_header) == 540
    np.testing.assert_array_equal(back.source_array(), data)
    np.testing.assert_array_equal(back.nifti_affine, np.diag([2.0, 2.0, 3.0, 1.0]))


def test_float_nifti(tmp_path):
    nib = pytest.importorskip("nibabel")
    data = RNG.standard_normal((8, 9, 3)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, np.eye(4)), tmp_path / "f.nii")
    image = read_image(tmp_path / "f.nii")
    assert image.intensity.is_float and image.intensity.low == float(data.min())
    np.testing.assert_array_equal(image.source_array(), data)


# --------------------------------------------------------------------------- PNG, TIFF, JPEG, NPY


@pytest.mark.parametrize(
    ("dtype", "maximum", "bits"), [("uint8", 255, 8), ("uint16", 3000, 12), ("uint16", 65535, 16)]
)
def test_png_round_trip(tmp_path, dtype, maximum, bits):
    a = RNG.integers(0, maximum, size=(37, 53), endpoint=True).astype(dtype)
    out = write_image(tmp_path / "a.png", from_array(a))
    image = read_image(out)
    assert image.source_format == "png" and image.original_shape == a.shape
    assert image.intensity.dtype == dtype and image.intensity.bits_stored == bits
    np.testing.assert_array_equal(image.pixels[0], a)


def test_png_written_by_pillow(tmp_path):
    from PIL import Image

    a = (np.arange(40 * 30).reshape(40, 30) * 3).astype(np.uint16)
    Image.fromarray(a).save(tmp_path / "p.png")
    image = read_image(tmp_path / "p.png")
    assert image.intensity.dtype == "uint16" and image.intensity.bits_stored == 12
    np.testing.assert_array_equal(image.pixels[0], a)


def test_png_refuses_what_it_cannot_hold(tmp_path):
    with pytest.raises(UsageError, match="tiff"):
        write_image(tmp_path / "s.png", from_array(np.zeros((2, 4, 4), np.uint8)))
    with pytest.raises(UsageError, match="int16"):
        write_image(tmp_path / "s.png", from_array(np.zeros((4, 4), np.int16)))
    assert list(tmp_path.iterdir()) == []


def _rgb_png(tmp_path: Path, rgb: np.ndarray, name: str = "c.png") -> Path:
    from PIL import Image

    Image.fromarray(rgb).save(tmp_path / name)
    return tmp_path / name


def test_colour_png_with_equal_channels_is_grey(tmp_path):
    g = RNG.integers(0, 256, (20, 30)).astype(np.uint8)
    for rgb in (np.stack([g, g, g], -1), np.stack([g, g, g, np.full_like(g, 255)], -1)):
        image = read_image(_rgb_png(tmp_path, rgb))
        np.testing.assert_array_equal(image.pixels[0], g)
    from PIL import Image

    Image.fromarray(g).convert("P").save(tmp_path / "pal.png")  # palette of greys
    np.testing.assert_array_equal(read_image(tmp_path / "pal.png").pixels[0], g)


def test_colour_png_needs_grey_and_gives_luma(tmp_path):
    rgb = RNG.integers(0, 256, (20, 30, 3)).astype(np.uint8)
    path = _rgb_png(tmp_path, rgb)
    with pytest.raises(UnsupportedError, match="grey=True"):
        read_image(path)
    image = read_image(path, grey=True)
    expected = np.rint(rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.uint8)
    np.testing.assert_array_equal(image.pixels[0], expected)
    assert image.intensity.bits_stored == 8


def test_transparent_grey_png_needs_grey(tmp_path):
    g = RNG.integers(0, 256, (10, 10)).astype(np.uint8)
    alpha = np.full_like(g, 255)
    alpha[0, 0] = 0
    path = _rgb_png(tmp_path, np.stack([g, g, g, alpha], -1))
    with pytest.raises(UnsupportedError, match="transparent"):
        read_image(path)
    np.testing.assert_array_equal(read_image(path, grey=True).pixels[0], g)


def test_16_bit_colour_png_is_refused_not_truncated(tmp_path):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rgb = (np.arange(4 * 5 * 3).reshape(4, 5, 3) * 1000).astype(">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in rgb)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 5, 4, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    (tmp_path / "rgb16.png").write_bytes(png)
    with pytest.raises(UnsupportedError, match="16-bit colour"):
        read_image(tmp_path / "rgb16.png", grey=True)


def test_jpeg_grey_and_colour(tmp_path):
    from PIL import Image

    g = np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))
    Image.fromarray(g).save(tmp_path / "g.jpg", quality=95)
    image = read_image(tmp_path / "g.jpg")
    assert (
        image.source_format == "jpeg"
        and image.pixels.shape == (1, 48, 64)
        and image.intensity.dtype == "uint8"
    )
    assert np.abs(image.pixels[0].astype(int) - g).max() <= 8
    rgb = np.stack([g, 255 - g, g // 2], -1)
    Image.fromarray(rgb).save(tmp_path / "c.jpg")
    with pytest.raises(UnsupportedError):
        read_image(tmp_path / "c.jpg")
    assert read_image(tmp_path / "c.jpg", grey=True).pixels.shape == (1, 48, 64)


def test_tiff_multipage_round_trip(tmp_path):
    stack = RNG.integers(0, 4096, (4, 25, 31)).astype(np.uint16)
    out = write_image(tmp_path / "s.tif", from_array(stack))
    image = read_image(out)
    assert image.source_format == "tiff" and image.original_shape == (4, 25, 31)
    assert image.intensity.bits_stored == 12
    np.testing.assert_array_equal(image.pixels, stack)
    nd = RNG.integers(-500, 500, (2, 3, 8, 9)).astype(np.int16)
    back = read_image(write_image(tmp_path / "nd.tiff", from_array(nd)))
    assert back.original_shape == nd.shape
    np.testing.assert_array_equal(back.source_array(), nd)


def test_tiff_pages_written_by_tifffile_and_miniswhite(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    pages = RNG.integers(0, 2**15, (3, 16, 20)).astype(np.uint16)
    with tifffile.TiffWriter(tmp_path / "p.tif") as tif:
        for page in pages:
            tif.write(page, photometric="miniswhite")
    image = read_image(tmp_path / "p.tif")
    assert image.frames == 3 and image.intensity.photometric == "MONOCHROME1"
    np.testing.assert_array_equal(image.pixels, pages)
    out = write_image(tmp_path / "w.tif", image)
    assert read_image(out).intensity.photometric == "MONOCHROME1"
    f = RNG.standard_normal((16, 20)).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", f)
    np.testing.assert_array_equal(read_image(tmp_path / "f.tif").pixels[0], f)


def test_palette_tiff_of_greys_is_grey_and_colour_palette_needs_grey(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    idx = RNG.integers(0, 256, (12, 14)).astype(np.uint8)
    ramp = np.arange(256, dtype=np.uint16) * 257
    tifffile.imwrite(tmp_path / "g.tif", idx, photometric="palette", colormap=np.stack([ramp, ramp, ramp]))
    image = read_image(tmp_path / "g.tif")
    assert image.intensity.dtype == "uint8"
    np.testing.assert_array_equal(image.pixels[0], idx)
    colour = np.stack([ramp, ramp[::-1], ramp])
    tifffile.imwrite(tmp_path / "c.tif", idx, photometric="palette", colormap=colour)
    with pytest.raises(UnsupportedError, match="grey=True"):
        read_image(tmp_path / "c.tif")
    rgb = (colour // 257).T[idx].astype(np.float64)
    expected = np.rint(rgb @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
    np.testing.assert_array_equal(read_image(tmp_path / "c.tif", grey=True).pixels[0], expected)


def test_npy_round_trip_and_no_pickles(tmp_path):
    a = RNG.integers(-(2**20), 2**20, (2, 3, 10, 12)).astype(np.int32)
    out = write_image(tmp_path / "a.npy", from_array(a))
    image = read_image(out)
    assert image.source_format == "npy" and image.intensity.bits_stored == 24
    np.testing.assert_array_equal(image.source_array(), a)
    np.save(tmp_path / "o.npy", np.array([[{"a": 1}]], dtype=object), allow_pickle=True)
    with pytest.raises(ImageReadError, match="pickle"):
        read_image(tmp_path / "o.npy")
    np.save(tmp_path / "b.npy", np.zeros((3, 3), bool))
    with pytest.raises(UnsupportedError, match="bool"):
        read_image(tmp_path / "b.npy")


def test_frames_last_image_written_as_npy_keeps_its_shape(tmp_path):
    vol = RNG.integers(0, 255, (5, 6, 3)).astype(np.uint8)
    image = from_array(vol, layout="frames-last")
    back = np.load(write_image(tmp_path / "v.npy", image))
    np.testing.assert_array_equal(back, vol)


# --------------------------------------------------------------------------- read errors


def test_missing_file():
    with pytest.raises(InputNotFoundError, match="does not exist"):
        read_image("/nonexistent/scan.dcm")


@pytest.mark.parametrize(
    ("name", "content", "error", "match"),
    [
        ("empty.dcm", b"", ImageReadError, "empty"),
        ("empty.png", b"", ImageReadError, "empty"),
        (
            "random.dcm",
            bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)),
            ImageReadError,
            "DICOM",
        ),
        ("random.png", b"not a png at all" * 30, ImageReadError, "not PNG"),
        ("random.nii.gz", b"\x1f\x8b" + b"garbage" * 100, ImageReadError, "NIfTI"),
        ("random.npy", b"\x93NUMPY" + b"\x00" * 40, ImageReadError, "NPY"),
        ("notes.txt", b"hello world, this is text" * 20, UnsupportedError, r"\.dcm, \.nii"),
    ],
)
def test_unreadable_files(tmp_path, name, content, error, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(error, match=match):
        read_image(path)


@pytest.mark.parametrize("keep", [0.3, 0.95])
def test_truncated_dicom(tmp_path, keep):
    data = dicom_file("CT_small.dcm").read_bytes()
    path = tmp_path / "cut.dcm"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ImageReadError):
        read_image(path)


def test_truncated_png_and_tiff(tmp_path):
    a = RNG.integers(0, 65535, (64, 64)).astype(np.uint16)
    for name in ("t.png", "t.tif"):
        full = write_image(tmp_path / name, from_array(a)).read_bytes()
        (tmp_path / name).write_bytes(full[: len(full) // 2])
        with pytest.raises(ImageReadError):
            read_image(tmp_path / name)


def test_dicom_without_pixel_data(tmp_path):
    with pytest.raises(ImageReadError, match="without Pixel Data.*RT Plan"):
        read_image(dicom_file("rtplan.dcm"))


def test_dicom_without_preamble_is_recognised(tmp_path):
    ds = pydicom.dcmread(dicom_file("MR_small.dcm"))
    expected = ds.pixel_array
    del ds.file_meta
    ds.preamble = None
    raw = tmp_path / "IM0001"  # no suffix, no preamble, no file meta: as in many old archives
    pydicom.dcmwrite(raw, ds, implicit_vr=False, little_endian=True)
    assert raw.read_bytes()[:2] == b"\x08\x00"
    image = read_image(raw)
    assert image.source_format == "dicom"
    np.testing.assert_array_equal(image.pixels[0], expected)


# --------------------------------------------------------------------------- write errors


def test_existing_output_is_not_overwritten(tmp_path):
    target = tmp_path / "keep.npy"
    target.write_bytes(b"precious")
    image = from_array(np.zeros((3, 3), np.uint8))
    with pytest.raises(OutputError, match="--force"):
        write_image(target, image)
    assert target.read_bytes() == b"precious"
    write_image(target, image, overwrite=True)
    np.testing.assert_array_equal(np.load(target), np.zeros((3, 3), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.npy"]


def test_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken_save(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OutputError, match="No space left"):
        write_image(tmp_path / "a.npy", from_array(np.zeros((3, 3), np.uint8)))
    assert list(tmp_path.iterdir()) == []


def test_library_error_while_writing_becomes_output_error(tmp_path, monkeypatch):
    import tifffile

    def broken(*args, **kwargs):
        raise ValueError("encoder exploded")

    monkeypatch.setattr(tifffile, "imwrite", broken)
    with pytest.raises(OutputError, match="encoder exploded"):
        write_image(tmp_path / "a.tif", from_array(np.zeros((3, 3), np.uint8)))
    assert list(tmp_path.iterdir()) == []


def test_output_folder_missing_and_unknown_format(tmp_path):
    image = from_array(np.zeros((3, 3), np.uint8))
    with pytest.raises(OutputError, match="does not exist"):
        write_image(tmp_path / "no" / "such" / "a.npy", image)
    with pytest.raises(UsageError, match="suffix"):
        write_image(tmp_path / "a.bmp", image)
    with pytest.raises(UsageError, match="format"):
        write_image(tmp_path / "a.npy", image, format="gif")
    out = write_image(tmp_path / "explicit.data", image, format="npy")
    np.testing.assert_array_equal(np.load(out), np.zeros((3, 3)))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_unwritable_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError):
            write_image(folder / "a.npy", from_array(np.zeros((3, 3), np.uint8)))
    finally:
        folder.chmod(0o700)


def test_supported_suffix_lists():
    assert (
        {".dcm", ".nii", ".nii.gz", ".png", ".tif", ".tiff", ".npy"}
        <= set(SUPPORTED_WRITE)
        <= set(SUPPORTED_READ)
    )
    assert ".jpg" in SUPPORTED_READ and ".jpg" not in SUPPORTED_WRITE


@pytest.mark.parametrize(("options", "expected"), [({}, b"LOSSY mcz wavelet-ctx q24"),
                                                  ({"max_error": 2}, b"mcz near-lossless, max error 2")])
def test_a_decoded_nifti_says_how_it_was_coded(tmp_path, options, expected):
    """NIfTI has no lossy flag, so the decoded header's descrip states the coding."""
    nib = pytest.importorskip("nibabel")
    pytest.importorskip("compressai")
    import mcz

    path, _, _ = _nifti_volume(tmp_path, "vol.nii.gz")
    image = mcz.decode_image(mcz.encode(path, **options))
    out = write_image(tmp_path / "back.nii.gz", image)
    descrip = bytes(nib.load(out).header["descrip"])
    assert descrip.startswith(expected) and b":1" in descrip
