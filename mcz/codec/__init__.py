"""Learned codecs: models, quantisers, lossless back ends, registry, checkpoint zoo, glue.

Importing this package does not import torch; the modules that need it
(:mod:`mcz.codec.cae`, :mod:`mcz.codec.engine`) import it themselves.
"""
