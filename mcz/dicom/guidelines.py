"""Accepted irreversible compression ratios by modality and body part, and their lookup.

Source
------
:data:`TABLE` transcribes, row for row, Table 1 ("Summary of Medically Accepted
Compression Ratios by Modality and Region") of

    I. A. Urbaniak, "Using Compressed JPEG and JPEG2000 Medical Images in Deep
    Learning: A Review", *Appl. Sci.* 14 (2024) 10524, doi:10.3390/app142210524
    (paper 004 in ``docs/references.md``),

which summarises the recommendations published by the Canadian Association of
Radiologists (CAR), the German Röntgen Society (Deutsche Röntgengesellschaft,
DRG) and the Royal College of Radiologists (RCR, UK), as collected in the
European Society of Radiology position paper "Usability of irreversible image
compression in radiological imaging", *Insights Imaging* 2 (2011) 103-115 (the
review's reference [6]).

The ratios were set for JPEG and JPEG 2000 read by radiologists; a learned
codec's artefacts differ, so they are a ceiling to respect, not evidence that
mcz is diagnostic at these ratios.  The final decision stays with a qualified
physician (as the guidelines themselves say).

Lookup
------
:func:`guideline_for` maps Modality (0008,0060) and Body Part Examined
(0018,0015) to a row:

- ``CR`` and ``DX`` (digital radiography, the table's CR rows apply): body part
  ``BREAST`` -> *CR (mammography)*; a patient under 18 (Patient's Age) ->
  *CR (pediatric)*; otherwise *CR (chest, skeletal, body)*;
- ``MG`` -> *CR (mammography)*;
- ``CT``: head body parts -> *CT (head)*; chest, lung and skeletal parts ->
  *CT (skeleton/chest/lung)*; abdomen, pelvis and trunk -> *CT (body)*; a
  patient under 18 or "ANGIO" in the descriptions or Image Type ->
  *CT (angio, pediatric)*;
- ``MR`` -> *MR*; ``NM`` -> *NM*; ``US`` -> *US*; ``XA`` and ``RF`` -> *XA, XRF*.

When several rows match, the strictest one applies (a paediatric head CT gets
the head row's 12:1).  An unknown or missing body part gets the most permissive
row of its modality (CT 15:1, CR 30:1).  Other modalities (PT, OT, SC, ...) have
no guideline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Citation used in messages.
SOURCE = "CAR/DRG/RCR (Urbaniak 2024, Table 1)"


@dataclass(frozen=True)
class Guideline:
    """One row of the table.

    Attributes
    ----------
    name : str
        The row as the table names it, e.g. ``"CT (head)"``.
    low : float or None
        The lowest accepted ratio among the societies (None where the table says "up to").
    high : float
        The most permissive accepted ratio: what the guard compares with.
    most_permissive : str
        Who accepts ``high`` (the table's "regions with highest accepted compression").
    least_permissive : str
        The table's "regions with lowest accepted compression".
    """

    name: str
    low: float | None
    high: float
    most_permissive: str
    least_permissive: str

    def describe(self) -> str:
        """``"CT (head) 5:1-12:1"`` or ``"NM up to 11:1"``."""
        if self.low is None:
            span = f"up to {self.high:g}:1"
        elif self.low == self.high:
            span = f"{self.high:g}:1"
        else:
            span = f"{self.low:g}:1-{self.high:g}:1"
        return f"{self.name} {span}"


# Table 1 of paper 004 (docs/references.md), every row, in the paper's order.
CR_BODY = Guideline("CR (chest, skeletal, body)", 10, 30, "Canada (30:1)", "UK, Germany (10:1)")
CR_PEDIATRIC = Guideline("CR (pediatric)", None, 30, "Canada", "Not available for UK, Germany")
CR_MAMMOGRAPHY = Guideline("CR (mammography)", 15, 25, "Canada (25:1)", "Germany (15:1), UK (20:1)")
CT_HEAD = Guideline("CT (head)", 5, 12, "Canada (12:1)", "UK, Germany (5:1)")
CT_SKELETON_CHEST_LUNG = Guideline("CT (skeleton/chest/lung)", 5, 15, "Canada (15:1)", "UK (5:1)")
CT_BODY = Guideline("CT (body)", 10, 15, "Canada, Germany (15:1)", "Not available for UK")
CT_ANGIO_PEDIATRIC = Guideline("CT (angio, pediatric)", None, 15, "Canada", "Not available for UK, Germany")
MR = Guideline("MR", 5, 24, "Canada (24:1)", "Germany (7:1), UK (5:1)")
NM = Guideline("NM", None, 11, "Canada", "Not available for UK, Germany")
US = Guideline("US", 10, 12, "Canada", "Not available for Germany")
XA_XRF = Guideline("XA, XRF", 6, 6, "Germany", "Not available for UK, Canada")

TABLE: tuple[Guideline, ...] = (
    CR_BODY,
    CR_PEDIATRIC,
    CR_MAMMOGRAPHY,
    CT_HEAD,
    CT_SKELETON_CHEST_LUNG,
    CT_BODY,
    CT_ANGIO_PEDIATRIC,
    MR,
    NM,
    US,
    XA_XRF,
)

# Body Part Examined defined terms (PS3.16 Annex L) grouped as the table's regions.
_CT_HEAD_PARTS = frozenset({
    "HEAD", "BRAIN", "SKULL", "HEADNECK", "FACE", "ORBIT", "SINUS", "IAC", "EAR", "JAW", "TMJ",
})
_CT_SKELETON_CHEST_PARTS = frozenset({
    "CHEST", "LUNG", "THORAX", "RIB", "STERNUM", "CLAVICLE", "SCAPULA", "SHOULDER",
    "SPINE", "CSPINE", "TSPINE", "LSPINE", "SSPINE", "CTSPINE", "TLSPINE", "LSSPINE", "COCCYX", "SACRUM",
    "EXTREMITY", "ARM", "UPRARM", "ELBOW", "FOREARM", "WRIST", "HAND", "FINGER",
    "HIP", "LEG", "UPRLEG", "THIGH", "KNEE", "LOWLEG", "ANKLE", "FOOT", "HEEL", "TOE", "BONE",
})
_CT_BODY_PARTS = frozenset({
    "ABDOMEN", "PELVIS", "ABDOMENPELVIS", "CHESTABDOMEN", "CHESTABDPELVIS", "WHOLEBODY", "TRUNK",
    "LIVER", "KIDNEY", "PANCREAS", "SPLEEN", "BLADDER", "PROSTATE", "UTERUS", "GALLBLADDER", "ADRENAL",
    "COLON",
})
_CT_REGIONS = (
    (_CT_HEAD_PARTS, CT_HEAD),
    (_CT_SKELETON_CHEST_PARTS, CT_SKELETON_CHEST_LUNG),
    (_CT_BODY_PARTS, CT_BODY),
)
_MODALITY_ROWS: dict[str, tuple[Guideline, ...]] = {
    "CR": (CR_BODY, CR_PEDIATRIC, CR_MAMMOGRAPHY),
    "DX": (CR_BODY, CR_PEDIATRIC, CR_MAMMOGRAPHY),
    "MG": (CR_MAMMOGRAPHY,),
    "CT": (CT_HEAD, CT_SKELETON_CHEST_LUNG, CT_BODY, CT_ANGIO_PEDIATRIC),
    "MR": (MR,),
    "NM": (NM,),
    "US": (US,),
    "XA": (XA_XRF,),
    "RF": (XA_XRF,),
}
_PEDIATRIC_YEARS = 18


def guideline_for(
    modality: str | None,
    body_part: str | None = None,
    *,
    pediatric: bool = False,
    angio: bool = False,
) -> Guideline | None:
    """The table row for a modality and body part; see the module docstring for the rules.

    Parameters
    ----------
    modality : str or None
        Modality (0008,0060), e.g. ``"CT"``.
    body_part : str, optional
        Body Part Examined (0018,0015), e.g. ``"HEAD"``; case and spaces ignored.
    pediatric : bool
        The patient is a child (selects the paediatric rows).
    angio : bool
        An angiography (selects *CT (angio, pediatric)*).

    Returns
    -------
    Guideline or None
        None for a modality the table does not cover.
    """
    rows = _MODALITY_ROWS.get(_term(modality))
    if not rows:
        return None
    matched = _matching_rows(_term(modality), _term(body_part), pediatric, angio)
    # Several matches: the strictest; none (unknown body part): the most permissive of the modality.
    if matched:
        return min(matched, key=lambda g: g.high)
    return max(rows, key=lambda g: g.high)


def _matching_rows(modality: str, part: str, pediatric: bool, angio: bool) -> list[Guideline]:
    if modality == "MG":
        return [CR_MAMMOGRAPHY]
    if modality in ("CR", "DX"):
        if part == "BREAST":
            return [CR_MAMMOGRAPHY]
        return [CR_PEDIATRIC] if pediatric else ([CR_BODY] if part else [])
    if modality == "CT":
        found = [CT_ANGIO_PEDIATRIC] if pediatric or angio else []
        return found + [row for parts, row in _CT_REGIONS if part in parts]
    return list(_MODALITY_ROWS[modality])


def _term(value: Any) -> str:
    return "".join(str(value or "").split()).upper()


def guideline_for_dataset(ds: Any) -> Guideline | None:
    """The row for a pydicom data set (Modality, Body Part Examined, Patient's Age, descriptions).

    Parameters
    ----------
    ds : pydicom.Dataset or None
        A source header; None (no header) gives None.

    Returns
    -------
    Guideline or None
    """
    if ds is None:
        return None
    texts = [ds.get("SeriesDescription"), ds.get("StudyDescription"), *(ds.get("ImageType") or [])]
    angio = any("ANGIO" in str(text or "").upper() for text in texts)
    child = _is_child(ds.get("PatientAge"))
    return guideline_for(ds.get("Modality"), ds.get("BodyPartExamined"), pediatric=child, angio=angio)


#: Every row of the table, for the most permissive one.
ROWS = (CR_BODY, CR_PEDIATRIC, CR_MAMMOGRAPHY, CT_HEAD, CT_SKELETON_CHEST_LUNG, CT_BODY, CT_ANGIO_PEDIATRIC,
        MR, NM, US, XA_XRF)
_LOOSEST = max(ROWS, key=lambda g: g.high)
#: A NIfTI file names no modality, yet holds a scan: its lossy coding is held to the most permissive
#: row of the whole table (a ratio above it exceeds every modality's guideline).
ANY_MODALITY = Guideline("any modality (a NIfTI file names none)", None, _LOOSEST.high,
                         f"{_LOOSEST.name}: {_LOOSEST.most_permissive}", _LOOSEST.least_permissive)


def guideline_for_image(image: Any) -> Guideline | None:
    """The row for an image: its DICOM header's; :data:`ANY_MODALITY` for a NIfTI source; else None.

    Parameters
    ----------
    image : mcz.io.MedicalImage

    Returns
    -------
    Guideline or None
    """
    if image.dicom is not None:
        return guideline_for_dataset(image.dicom)
    return ANY_MODALITY if image.source_format == "nifti" else None


def _is_child(age: Any) -> bool:
    """Patient's Age (AS, e.g. ``"012Y"``, ``"006M"``) under 18 years; False when unknown.

    ``"000Y"`` counts as unknown: it is the usual filler of an age nobody entered
    (an infant's age is given in days, weeks or months).
    """
    text = str(age or "").strip().upper()
    if len(text) != 4 or not text[:3].isdigit() or text[3] not in "DWMY" or text == "000Y":
        return False
    return text[3] != "Y" or int(text[:3]) < _PEDIATRIC_YEARS
