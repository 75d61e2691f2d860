"""The downstream splits never put one near-duplicate group on both sides."""

import pytest

from mcz.downstream import data

PAYLOAD = {
    "splits": {
        "train": ["a1", "a2", "b1", "c1", "c2", "c3", "d1"],
        "val": ["e1"],
        "test": ["f1", "f2", "g1", "h1"],
    },
    "labels": {
        "a1": 1,
        "a2": 1,
        "b1": 0,
        "c1": 1,
        "c2": 1,
        "c3": 1,
        "d1": 0,
        "e1": 0,
        "f1": 1,
        "f2": 1,
        "g1": 0,
        "h1": 0,
    },
    "groups": {
        "a1": 0,
        "a2": 0,
        "b1": 1,
        "c1": 2,
        "c2": 2,
        "c3": 2,
        "d1": 3,
        "e1": 4,
        "f1": 5,
        "f2": 5,
        "g1": 6,
        "h1": 7,
    },
}


def test_subset_keeps_whole_groups_and_balance():
    train = data.samples("train", PAYLOAD)
    for limit in (2, 3, 4, 5):
        part = data.subset(train, limit)
        names = {s.name for s in part}
        for s in train:  # a group is taken whole or not at all
            mates = {t.name for t in train if t.group == s.group}
            assert mates <= names or not (mates & names)
        assert {s.label for s in part} == {0, 1}
    assert data.subset(train, None) == train


def test_check_disjoint_detects_a_leak():
    train, test = data.samples("train", PAYLOAD), data.samples("test", PAYLOAD)
    data.check_disjoint({"train": train, "test": test})
    leak = test + [data.Sample("x", 1, 2)]  # group 2 is in train
    with pytest.raises(ValueError, match="leak"):
        data.check_disjoint({"train": train, "test": leak})


def test_committed_br35h_split_never_leaks_a_group():
    br35h = pytest.importorskip("mcz.datasets.br35h")
    payload = br35h.read_split_file(br35h.SPLIT_FILE)
    parts = {name: data.samples(name, payload) for name in ("train", "val", "test")}
    data.check_disjoint(parts)
    assert sum(len(v) for v in parts.values()) == 3000
    quick = {"train": data.subset(parts["train"], 400), "test": data.subset(parts["test"], 120)}
    data.check_disjoint(quick)
    assert 100 <= len(quick["test"]) <= 140
