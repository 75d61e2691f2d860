"""The mcz error hierarchy and the CLI exit codes.

Every error raised on purpose by mcz derives from :class:`McZError` and also from
the matching built-in exception, so ``except ValueError`` in a caller's code still
catches a corrupt file.  Messages follow one pattern: what was found, what was
expected, what to do.
"""

from __future__ import annotations

import enum
import importlib


class ExitCode(enum.IntEnum):
    """Exit codes of the ``mcz`` command (listed in the README)."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    NO_INPUT = 3
    CORRUPT_INPUT = 4
    UNSUPPORTED = 5
    OUTPUT_ERROR = 6
    MODEL_ERROR = 7
    PARTIAL_BATCH = 8


class McZError(Exception):
    """Base class of every error mcz raises on purpose."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(McZError, ValueError):
    """A caller passed an argument that cannot be honoured."""

    exit_code = ExitCode.USAGE


class InputNotFoundError(McZError, FileNotFoundError):
    """An input path does not exist or matched nothing."""

    exit_code = ExitCode.NO_INPUT


class DatasetMissingError(McZError, FileNotFoundError):
    """A data source is not installed; the message gives the command that installs it."""

    exit_code = ExitCode.NO_INPUT


class FormatError(McZError, ValueError):
    """Bytes that should be a ``.mcz`` file (or an image) are not: foreign, truncated or corrupt."""

    exit_code = ExitCode.CORRUPT_INPUT


class TruncatedError(FormatError):
    """The data ends before a length it declared."""


class ChecksumError(FormatError):
    """A CRC-32 or a reconstruction digest does not match."""


class VersionError(McZError, ValueError):
    """The file was written by a newer, incompatible major format version."""

    exit_code = ExitCode.UNSUPPORTED


class UnsupportedError(McZError, ValueError):
    """Valid input that mcz does not handle (a colour image, an unknown critical chunk, ...)."""

    exit_code = ExitCode.UNSUPPORTED


class BitDepthError(UnsupportedError):
    """Pixel values or bit depth outside what the image declares or mcz supports."""


class ImageReadError(McZError, ValueError):
    """An image file (DICOM, NIfTI, PNG, ...) could not be read."""

    exit_code = ExitCode.CORRUPT_INPUT


class OutputError(McZError, OSError):
    """An output could not be written, or would overwrite a file without ``--force``."""

    exit_code = ExitCode.OUTPUT_ERROR


class ModelError(McZError, LookupError):
    """Unknown model id, missing or corrupt checkpoint, or a hash that does not match."""

    exit_code = ExitCode.MODEL_ERROR


class MissingDependencyError(McZError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    exit_code = ExitCode.UNSUPPORTED


class BackendUnavailableError(UnsupportedError):
    """A decoder backend cannot run here (no CUDA device, no TensorRT, a CPU-only torch build)."""


def require(module: str, extra: str):
    """Import an optional dependency or raise :class:`MissingDependencyError`.

    Parameters
    ----------
    module : str
        Importable module name, e.g. ``"nibabel"``.
    extra : str
        The ``mcz`` extra that installs it, e.g. ``"io"``.

    Returns
    -------
    module
        The imported module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"found no module {module!r}; it is needed here. "
            f"Install it with: pip install 'mcz[{extra}]'"
        ) from exc
