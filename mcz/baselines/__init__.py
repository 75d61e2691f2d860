"""Codecs behind one contract: the standard codecs mcz is compared with, and mcz itself.

A library, not benchmark code: the benchmark (:mod:`mcz.bench`), training's
evaluation, the downstream study and ``mcz demo`` all code through it.  Nothing
heavy (imagecodecs, PyWavelets, torch) is imported until a codec runs.
"""
