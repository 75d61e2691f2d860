"""The GAN variant: a second, "realistic" synthesis network on the bitstream of a learned model.

The file format does not change.  The encoder and entropy model of the base model (the
best shipped learned-entropy model, ``hyperprior-compact``) are frozen; ``g_s_real`` starts
from its ``g_s`` and is fine-tuned with ``k_M * MSE + beta * L_G`` against a conditional
PatchGAN (HiFiC, Mentzer et al. 2020).  It is an opt-in, non-diagnostic preview decoder:
:mod:`mcz.hallucination` measures what it invents.

Modules: :mod:`mcz.gan.networks` (discriminator), :mod:`mcz.codec.decoders` (the decoder's
manifest entry and weights), :mod:`mcz.gan.train` (fine-tuning), and
:mod:`mcz.codec.realistic` (decoding a file with it).
"""
