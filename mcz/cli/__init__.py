"""The ``mcz`` command line: argument parsing only; work is done by the public API."""
