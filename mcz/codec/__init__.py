"""Learned codecs: models, quantisers, lossless back ends, registry, checkpoint zoo, glue.

Each model family is a class in :mod:`mcz.codec.families`; :mod:`mcz.codec.engine`
codes every family through it.  Importing this package, the registry, the families or
the engine does not import torch; the modules that need it (the networks
:mod:`mcz.codec.cae` and :mod:`mcz.codec.learned`, their tile coders) import it themselves.
"""
