"""Training with PyTorch Lightning: data modules, the codec system, resumable state, export.

Models stay plain ``nn.Module``s (:mod:`mcz.codec`); this package wraps them.
Requires the ``train`` extra (``pip install 'mcz[train]'``).
"""
