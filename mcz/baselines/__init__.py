"""Codecs behind one contract: the standard codecs mcz is compared with, and mcz itself.

A library, not benchmark code: the benchmark (:mod:`mcz.bench`), training's
evaluation, the downstream study and ``mcz demo`` all code through it.  Nothing
heavy (imagecodecs, PyWavelets, torch) is imported until a codec runs.

* :mod:`~mcz.baselines.contract` -- :class:`~mcz.baselines.contract.BaselineCodec`, its settings
  and the unsigned frame domain;
* :mod:`~mcz.baselines.standard` -- the registry of standard codecs, built from
  :mod:`~mcz.baselines.adapters` (imagecodecs), :mod:`~mcz.baselines.wavelet` and
  :mod:`~mcz.baselines.interpolative`;
* :mod:`~mcz.baselines.mcz_codec` -- mcz models behind the contract;
* :mod:`~mcz.baselines.resolve` -- codecs by name;
* :mod:`~mcz.baselines.matching` -- the setting that reaches a target ratio, bpp, PSNR or size.

See ``docs/architecture.md``.
"""
