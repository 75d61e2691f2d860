"""Benchmark: standard-codec adapters, metrics, sweeps and reports (``mcz bench``)."""
