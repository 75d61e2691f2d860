"""Downstream diagnosis: does a tumour classifier still work on compressed images?

Protocols of papers 000 and 001 (docs/references.md) (train on originals, test on each codec's
decoded test set at matched compression ratios) and the train-on-compressed
questions of paper 004, on Br35H split by near-duplicate group.  Entry
point: ``mcz bench --downstream`` (:mod:`mcz.cli.downstream`), work in
:mod:`mcz.downstream.run`.  See docs/downstream.md.
"""
