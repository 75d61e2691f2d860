"""What an IOD requires of a data set: the type (1, 1C, 2, 2C, 3) of each attribute, by module.

The tables are highdicom's (generated from the DICOM standard's own XML and
shipped with every highdicom release): SOP class -> IOD -> modules (with their
usage M/C/U and information entity) -> attributes (with their type and the
sequences they are nested in).  They are not part of highdicom's public API,
which is why the ``dicom`` extra pins highdicom's minor version; this module is
the only place that reads them.

:func:`requirements` lists the required top-level attributes with their module's
usage and information entity (what the :mod:`minimal profile
<mcz.dicom.profile>` must keep present); :func:`attribute_types` gives the type
of an attribute at any depth, by its path of sequence keywords.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from mcz.errors import require

#: Attribute types that make an attribute required (1, 1C) or required present (2, 2C).
REQUIRED_TYPES = ("1", "1C", "2", "2C")


@dataclass(frozen=True)
class Requirement:
    """One required top-level attribute of an IOD.

    Attributes
    ----------
    keyword : str
        The attribute's keyword, e.g. ``"Manufacturer"``.
    type : str
        Its strongest type over the IOD's modules: ``"1"``, ``"1C"``, ``"2"`` or ``"2C"``
        (Manufacturer is Type 2 in General Equipment but Type 1 in Enhanced General Equipment).
    entity : str
        The information entity of the module that requires it (``"Patient"``, ``"Study"``,
        ``"Series"``, ``"Equipment"``, ``"Image"``, ...).
    mandatory : bool
        Whether that module is mandatory (M) in the IOD, not conditional or user optional.
    """

    keyword: str
    type: str
    entity: str
    mandatory: bool


def requirements(sop_class_uid: str, present: frozenset[str]) -> tuple[Requirement, ...] | None:
    """The required top-level attributes of the IOD of ``sop_class_uid``, for a data set holding ``present``.

    Parameters
    ----------
    sop_class_uid : str
        The SOP Class UID of the data set.
    present : frozenset of str
        Keywords of the data set's top-level attributes: a conditional or optional
        module counts only when the data set holds one of its attributes.

    Returns
    -------
    tuple of Requirement, or None
        None when the tables do not know the SOP class (a private or retired class).

    Raises
    ------
    MissingDependencyError
        highdicom (the ``dicom`` extra) is not installed.
    """
    modules = _iod_modules().get(str(sop_class_uid))
    if modules is None:
        return None
    attributes = _module_attributes()
    strongest: dict[str, Requirement] = {}
    for key, usage, entity in modules:
        listed = attributes.get(key, ())
        if usage != "M" and not any(keyword in present for keyword, _ in listed):
            continue
        for keyword, kind in listed:
            if kind not in REQUIRED_TYPES:
                continue
            new = Requirement(keyword, kind, entity, usage == "M")
            old = strongest.get(keyword)
            strongest[keyword] = new if old is None else _stronger(old, new)
    return tuple(strongest.values())


def _stronger(old: Requirement, new: Requirement) -> Requirement:
    """The stricter of two requirements of one attribute (1 before 1C before 2 before 2C)."""
    rank = REQUIRED_TYPES.index
    kind = min(old.type, new.type, key=rank)
    mandatory = old.mandatory or new.mandatory
    entity = old.entity if rank(old.type) <= rank(new.type) else new.entity
    return Requirement(old.keyword, kind, entity, mandatory)


def attribute_types(sop_class_uid: str) -> dict[tuple[str, ...], str] | None:
    """Type of every attribute of the IOD of ``sop_class_uid``, at any depth.

    Parameters
    ----------
    sop_class_uid : str
        The SOP Class UID of the data set.

    Returns
    -------
    dict or None
        ``(*sequence keywords, keyword) -> type``, e.g.
        ``("SharedFunctionalGroupsSequence", "PixelValueTransformationSequence", "RescaleType") -> "1"``;
        the strongest type where modules disagree.  None when the tables do not know the SOP class.

    Raises
    ------
    MissingDependencyError
        highdicom (the ``dicom`` extra) is not installed.
    """
    return _attribute_types(str(sop_class_uid))


@lru_cache(maxsize=16)
def _attribute_types(sop_class_uid: str) -> dict[tuple[str, ...], str] | None:
    modules = _iod_modules().get(sop_class_uid)
    if modules is None:
        return None
    require("highdicom", "dicom")
    # lazy: optional extra mcz[dicom] (highdicom)
    from highdicom._standard_utils import get_module_attribute_map

    order = (*REQUIRED_TYPES, "3")
    types: dict[tuple[str, ...], str] = {}
    table = get_module_attribute_map()
    for key, _, _ in modules:
        for attribute in table.get(key, ()):
            kind = attribute["type"] if attribute["type"] in order else "3"
            path = (*attribute["path"], attribute["keyword"])
            old = types.get(path)
            types[path] = kind if old is None else min(old, kind, key=order.index)
    return types


@lru_cache(maxsize=1)
def _iod_modules() -> dict[str, tuple[tuple[str, str, str], ...]]:
    """SOP Class UID -> ((module key, usage, information entity), ...)."""
    require("highdicom", "dicom")
    # lazy: optional extra mcz[dicom] (highdicom)
    from highdicom._standard_utils import get_iod_module_map, get_sop_class_iod_map

    iods = get_iod_module_map()
    return {
        uid: tuple((m["key"], m["usage"], m["ie"]) for m in iods[iod])
        for uid, iod in get_sop_class_iod_map().items()
        if iod in iods
    }


@lru_cache(maxsize=1)
def _module_attributes() -> dict[str, tuple[tuple[str, str], ...]]:
    """Module key -> ((keyword, type), ...) of its top-level attributes."""
    require("highdicom", "dicom")
    # lazy: optional extra mcz[dicom] (highdicom)
    from highdicom._standard_utils import get_module_attribute_map

    return {
        key: tuple((a["keyword"], a["type"]) for a in listed if not a["path"])
        for key, listed in get_module_attribute_map().items()
    }
