"""Hallucination safeguards for generative decoders: measured, tested limits (docs/ganvae.md).

* :mod:`~mcz.hallucination.maps` - noise level, the hallucination map ``H`` and its connected components;
* :mod:`~mcz.hallucination.lesions` - synthetic disc lesions, contrast recovery, matched-filter AUC, LoG blobs;
* :mod:`~mcz.hallucination.mcnemar` - paired classifier flips and McNemar's exact test;
* :mod:`~mcz.hallucination.decoders` - the decoders compared (MSE, realistic, JPEG 2000 at equal bytes);
* :mod:`~mcz.hallucination.report` - ``mcz bench --hallucination``: run, results, plots.
"""
