"""Running dciodvfy (David Clunie's DICOM validator, Debian package ``dicom3tools``) from the tests.

:func:`validate` runs it on one file and splits its report into errors and
warnings; :func:`new_errors` lists the errors of an output that its input did
not have, less :data:`FALSE_POSITIVES`: dciodvfy conditions known to contradict
the standard's text, each with the reason.  Tests that use it carry
:data:`requires_dciodvfy` and are skipped, saying why, where dciodvfy is not
installed (CI images without dicom3tools).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

DCIODVFY = shutil.which("dciodvfy")
SKIP_REASON = (
    "dciodvfy is not on PATH: the DICOM conformance tests need it "
    "(Debian/Ubuntu: apt-get install dicom3tools)"
)
#: Mark for tests that run dciodvfy.
requires_dciodvfy = pytest.mark.skipif(DCIODVFY is None, reason=SKIP_REASON)

#: (pattern, why it is not an error of mcz's output) for error lines of a DERIVED output whose input was not.
FALSE_POSITIVES = (
    (
        re.compile(
            r"Attribute present when condition unsatisfied \(which may not be present otherwise\) "
            r"for Type 1C Conditional - Module=<(MRPulseSequence|BulkMotionSynchronization)>"
        ),
        # dicom3tools writes these conditions without "may be present otherwise"; PS3.3 C.8.13.4 (MR Pulse
        # Sequence Module) says "Required if Image Type (0008,0008) Value 1 is ORIGINAL or MIXED. May be
        # present otherwise.", so a DERIVED (lossy) image may keep them; dicom3tools uses the same
        # condition for Bulk Motion Compensation Technique (C.7.6.18.3).
        "PS3.3 allows these attributes on a DERIVED image; dciodvfy's condition does not",
    ),
)


@dataclass(frozen=True)
class Report:
    """dciodvfy's verdict on one file: the IOD it checked against, its error and warning lines as printed."""

    iod: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


def validate(path: str | Path) -> Report:
    """Run dciodvfy on ``path``; fail the test if it could not read the file or find its IOD.

    ``-new`` (a dicom3tools option its usage text does not list) prints each
    message with the attribute's path, e.g. ``</SharedFunctionalGroupsSequence(5200,9229)[1]/...>``,
    so that errors inside sequences are told apart.
    """
    assert DCIODVFY is not None, SKIP_REASON
    run = subprocess.run([DCIODVFY, "-new", str(path)], capture_output=True, text=True, timeout=120,
                         check=False)
    lines = (run.stdout + run.stderr).splitlines()
    iods = [line for line in lines if re.fullmatch(r"[A-Z][A-Za-z0-9]+", line)]
    unreadable = [line for line in lines if "read failed" in line or "Information Object Not found" in line]
    assert iods and not unreadable, f"dciodvfy could not check {path}: {lines[:8]}"
    return Report(
        iod=iods[0],
        errors=tuple(line for line in lines if line.startswith("Error - ")),
        warnings=tuple(line for line in lines if line.startswith("Warning - ")),
    )


def new_errors(source: Report | None, output: Report, derived: bool = True) -> list[str]:
    """Error lines of ``output`` that ``source`` does not have, less the known false positives.

    Parameters
    ----------
    source : Report or None
        The input's report; None for an input that is not DICOM (every error is new).
    output : Report
        mcz's output's report.
    derived : bool
        The output's Image Type Value 1 is DERIVED (the false positives concern only that).
    """
    before = set(source.errors) if source is not None else set()
    found = [line for line in output.errors if line not in before]
    if derived:
        found = [line for line in found if not any(p.search(line) for p, _ in FALSE_POSITIVES)]
    return found
