"""Deterministic, group-aware train/validation/test splits.

Items are split by *group* (a near-duplicate cluster, a subject, a volume), never
by item, so no group ever lands on both sides.  The assignment depends only on the
group keys and a seed (a hash, not the order of the items), and is written to a
JSON file that every later benchmark reads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

from mcz.errors import FormatError
from mcz.fsutil import atomic_write_bytes

SPLITS = ("train", "val", "test")


def _unit_hash(key: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_groups(
    group_keys: Sequence[str],
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
    seed: int = 0,
) -> dict[str, list[int]]:
    """Assign item indices to train/val/test by their group key.

    Groups are ordered by a seeded hash of their key and cut at the cumulative
    item fractions, so the split is reproducible, needs no random state, and
    keeps every group whole.
    """
    if abs(sum(fractions) - 1) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"fractions {fractions} must be non-negative and sum to 1")
    members: dict[str, list[int]] = {}
    for index, key in enumerate(group_keys):
        members.setdefault(str(key), []).append(index)
    order = sorted(members, key=lambda k: (_unit_hash(k, seed), k))
    total, bounds = len(group_keys), [fractions[0], fractions[0] + fractions[1]]
    out: dict[str, list[int]] = {name: [] for name in SPLITS}
    done = 0
    for key in order:
        share = done / total if total else 0.0
        name = SPLITS[0] if share < bounds[0] else SPLITS[1] if share < bounds[1] else SPLITS[2]
        out[name].extend(members[key])
        done += len(members[key])
    return {name: sorted(idx) for name, idx in out.items()}


def write_split_file(path: Path, payload: dict, overwrite: bool = True) -> Path:
    """Write a split file (sorted keys, one stable text form for git diffs)."""
    data = json.dumps(payload, indent=1, sort_keys=True).encode()
    return atomic_write_bytes(path, data + b"\n", overwrite=overwrite)


def read_split_file(path: Path) -> dict:
    """Read a split file written by :func:`write_split_file`."""
    try:
        payload = json.loads(Path(path).read_text())
        if not all(name in payload["splits"] for name in SPLITS):
            raise KeyError("splits")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"split file {path} is unreadable ({exc}); regenerate it with `mcz data splits`") from exc
    return payload
