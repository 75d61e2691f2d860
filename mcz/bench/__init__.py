"""Benchmark (``mcz bench``): runs, measurements, sweeps, BD-rates and reports.

The codecs it compares are in :mod:`mcz.baselines`.
"""
