"""DICOM in, DICOM out: what makes ``DICOM -> .mcz -> DICOM`` a faithful, standard-conforming round trip.

A ``.mcz`` file is not a DICOM transfer syntax, so the decoded image is a new,
*derived* instance: its header is the source's, with the elements the standard
requires to change for lossy compression changed.

Reading and writing DICOM files is file I/O and lives below the codec, in :mod:`mcz.io.dicom`
(with :mod:`mcz.io.dicom_safety`, validation of values taken from headers before they become
paths or allocations, and :mod:`mcz.io.dicom_capture`, Secondary Capture headers for images
without a DICOM header); this package is what coding does to a DICOM object, above the codec
(docs/architecture.md, "Layers").  One concept per module:

- :mod:`~mcz.dicom.guidelines`: accepted irreversible compression ratios by
  modality and body part (CAR, DRG, RCR), looked up from a header;
- :mod:`~mcz.dicom.guard`: the ratio guard of ``mcz encode`` (warn, cap, strict);
- :mod:`~mcz.dicom.profile`: how much of the header is kept (``keep``,
  ``minimal``, ``none``), a minimal header still a valid instance of its IOD;
- :mod:`~mcz.dicom.lossy`: marking a decoded data set as lossy compressed and
  derived (flags, UIDs, derivation) and the private method term ``MCZ_CAE``;
- :mod:`~mcz.dicom.derivation`: where the derivation is recorded (top level, or
  the Derivation Image functional group of enhanced objects);
- :mod:`~mcz.dicom.iod`: what an IOD requires (Type 1 and 2 attributes), from
  highdicom's tables;
- :mod:`~mcz.dicom.derived`: what the encoder records for the decoder (new UIDs,
  file names) in the ``.mcz`` header;
- :mod:`~mcz.dicom.series`: a folder of slices as one volume, and back;
- :mod:`~mcz.dicom.encoding` and :mod:`~mcz.dicom.decoding`: the DICOM side of
  :func:`mcz.encode` (stored headers, the record) and of :func:`mcz.decode_image`
  (the marked headers of the derived instances);
- :mod:`~mcz.dicom.output`: writing a data set in a chosen transfer syntax.

pydicom is imported inside the functions that need it.
"""
