"""Real medical image sources, deterministic splits, and a generic folder loader.

The images ship inside registry packages (see README "Data"); nothing here
downloads anything.  A missing source raises :class:`DatasetMissingError` with
the exact command that installs it.
"""
