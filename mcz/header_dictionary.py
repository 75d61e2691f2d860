"""The preset dictionary of the compressed ``MHDR`` header (format 2.x): frozen forever.

Headers are small JSON objects that repeat the same keys and values in every file, so DEFLATE
with a preset dictionary of typical headers (RFC 1950 FDICT) stores one in about 150 bytes
instead of 700-900: at 0.1 bpp on a 512 x 512 image that is the difference between 2 % and 11 %
of the file.  A reader needs these exact bytes to read any format 2.x file; the zlib stream names
them by their Adler-32 (``DICTIONARY_ID``), so changing a single byte here would make every
existing file unreadable.  A new dictionary needs a new format minor version and a table of
dictionaries by Adler-32.  The values are placeholders (digests are zeros): only the repeated
structure matters.
"""

from __future__ import annotations

import zlib

__all__ = ["DICTIONARY", "DICTIONARY_ID"]

#: Typical headers of the registered families, the most common last (DEFLATE codes near matches
#: more cheaply).
_HEADERS = (
    '{"bits_stored":8,"checkpoint_sha256":"00000000000000000000000000000000000000000000000000'
    '00000000000000","codec_id":"cae-compact","columns":512,"digest":"sha256:0000000000000000'
    '000000000000000000000000000000000000000000000000","dtype":"uint8","extra":{"source_forma'
    't":"dicom","window":[0.0,254.0]},"frames":1,"intensity":{"bits_stored":8,"dtype":"uint8"'
    ',"high":255,"intercept":0.0,"low":0,"photometric":"MONOCHROME2","signed":false,"slope":1'
    '.0},"layout":"frames-first","original_shape":[512,512],"photometric":"MONOCHROME2","qual'
    'ity":6,"quantiser":{"backend":"brotli","bits":6,"method":"minmax","rounding":"nearest"},'
    '"rows":512,"samples":1,"signed":false,"tiling":{"pad_mode":"edge","pad_multiple":16,"til'
    'e":512}}',
    '{"bits_stored":16,"checkpoint_sha256":"0000000000000000000000000000000000000000000000000'
    '000000000000000","codec_id":"hyperprior-compact","columns":512,"digest":"sha256:00000000'
    '00000000000000000000000000000000000000000000000000000000","dtype":"int16","extra":{"late'
    'nt_digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","so'
    'urce_format":"dicom","window":[0.0,254.0]},"frames":1,"intensity":{"bits_stored":16,"dty'
    'pe":"int16","high":32767,"intercept":0.0,"low":0,"photometric":"MONOCHROME2","signed":fa'
    'lse,"slope":1.0},"layout":"frames-first","original_shape":[512,512],"photometric":"MONOC'
    'HROME2","quality":4,"quantiser":{"backend":"rans","entropy_model":"hyperprior","level":4'
    ',"method":"gain-units"},"rows":512,"samples":1,"signed":false,"tiling":{"pad_mode":"edge'
    '","pad_multiple":64,"tile":512}}',
    '{"bits_stored":12,"checkpoint_sha256":"0000000000000000000000000000000000000000000000000'
    '000000000000000","codec_id":"wavelet-ctx","columns":512,"digest":"sha256:000000000000000'
    '0000000000000000000000000000000000000000000000000","dtype":"uint16","extra":{"latent_dig'
    'est":"sha256:0000000000000000000000000000000000000000000000000000000000000000","source_f'
    'ormat":"dicom","window":[0.0,4095.0]},"frames":1,"intensity":{"bits_stored":12,"dtype":"'
    'uint16","high":4095,"intercept":0.0,"low":0,"photometric":"MONOCHROME2","signed":false,"'
    'slope":1.0},"layout":"frames-first","original_shape":[512,512],"photometric":"MONOCHROME'
    '2","quality":40,"quantiser":{"backend":"rans","entropy_model":"wavelet-context","method"'
    ':"deadzone-rdo","step":"2^(-quality/4) of 2^bits_stored - 1"},"rows":512,"samples":1,"si'
    'gned":false,"tiling":{"pad_mode":"edge","pad_multiple":1,"tile":2048}}',
    '{"bits_stored":8,"checkpoint_sha256":"00000000000000000000000000000000000000000000000000'
    '00000000000000","codec_id":"wavelet-ctx","columns":512,"digest":"sha256:0000000000000000'
    '000000000000000000000000000000000000000000000000","dtype":"uint8","extra":{"latent_diges'
    't":"sha256:0000000000000000000000000000000000000000000000000000000000000000","source_for'
    'mat":"dicom","window":[0.0,254.0]},"frames":1,"intensity":{"bits_stored":8,"dtype":"uint'
    '8","high":255,"intercept":0.0,"low":0,"photometric":"MONOCHROME2","signed":false,"slope"'
    ':1.0},"layout":"frames-first","original_shape":[512,512],"photometric":"MONOCHROME2","qu'
    'ality":24,"quantiser":{"backend":"rans","entropy_model":"wavelet-context","method":"dead'
    'zone-rdo","step":"2^(-quality/4) of 2^bits_stored - 1"},"rows":512,"samples":1,"signed":'
    'false,"tiling":{"pad_mode":"edge","pad_multiple":1,"tile":2048}}',
)

DICTIONARY: bytes = "\n".join(_HEADERS).encode("ascii")
DICTIONARY_ID: int = zlib.adler32(DICTIONARY)
