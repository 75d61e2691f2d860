"""The preset dictionaries of the compressed ``MHDR`` header (formats 2.x and 3.x): frozen forever.

Headers are small JSON objects that repeat the same keys and values in every file, so DEFLATE
with a preset dictionary of typical headers (RFC 1950 FDICT) stores one in about 150 bytes
instead of 700-900: at 0.1 bpp on a 512 x 512 image that is the difference between 2 % and 11 %
of the file.  A reader needs these exact bytes to read any format 2.x file; the zlib stream names
them by their Adler-32 (``DICTIONARY_ID``), so changing a single byte here would make every
existing file unreadable.  A new dictionary needs a new format version: format 3 brought ``DICTIONARY_3``
(the version bytes choose the dictionary; format 3 drops the zlib wrapper and its DICTID).  The values are placeholders (digests are zeros): only the repeated
structure matters.
"""

from __future__ import annotations

import zlib

__all__ = ["DICTIONARY", "DICTIONARY_3", "DICTIONARY_3_ID", "DICTIONARY_ID"]

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

#: Format 3 headers (shortened digests, geometry tag, no exact ``pixel_check``), generated from the
#: writers of format 3.0 with the digests zeroed; the most common (8-bit wavelet) last. Frozen too.
_HEADERS_3 = (
    '{"bits_stored":8,"checkpoint_sha256":"0000000000000000","codec_id":"hyperprior-compact",'
    '"columns":512,"digest":"sha256:00000000000000000000000000000000","dtype":"uint8","extra"'
    ':{"geometry":"0000000000000000","latent_digest":"sha256:00000000000000000000000000000000'
    '","pixel_check":{"block_means":"","blocks_per_frame":16,"policy":"bounded","tolerance":1'
    '.0,"units":"stored"},"source_format":"array","window":[8.0,194.0]},"frames":1,"intensity'
    '":{"bits_stored":8,"dtype":"uint8","high":255,"intercept":0.0,"low":0,"photometric":"MON'
    'OCHROME2","signed":false,"slope":1.0},"layout":"frames-first","original_shape":[512,512]'
    ',"photometric":"MONOCHROME2","quality":4,"quantiser":{"backend":"rans","entropy_model":"'
    'hyperprior","level":4,"method":"gain-units"},"rows":512,"samples":1,"signed":false,"tili'
    'ng":{"pad_mode":"edge","pad_multiple":64,"tile":512}}',
    '{"bits_stored":12,"checkpoint_sha256":"0000000000000000","codec_id":"nearlossless","colu'
    'mns":512,"digest":"sha256:00000000000000000000000000000000","dtype":"uint16","extra":{"b'
    'ase":{"frames":0,"model":null,"quality":null},"geometry":"0000000000000000","max_error":'
    '2,"measured_max_error":2,"source_format":"array"},"frames":1,"intensity":{"bits_stored":'
    '12,"dtype":"uint16","high":4095,"intercept":0.0,"low":0,"photometric":"MONOCHROME2","sig'
    'ned":false,"slope":1.0},"layout":"frames-first","original_shape":[512,512],"photometric"'
    ':"MONOCHROME2","quality":2,"quantiser":{"coder":"jpegxl-lossless effort 7","max_error":2'
    ',"method":"uniform-residual","step":5},"rows":512,"samples":1,"signed":false,"tiling":{"'
    'pad_mode":"none","pad_multiple":1,"tile":512}}',
    '{"bits_stored":16,"checkpoint_sha256":"0000000000000000","codec_id":"wavelet-ctx","colum'
    'ns":128,"digest":"sha256:00000000000000000000000000000000","dtype":"int16","extra":{"dic'
    'om":{"encoder":"mcz 0.1.0","metadata":"keep","method":"MCZ_WAVELET","names":null,"series'
    '":false,"series_instance_uid":null,"sop_instance_uids":["1.2.826.0.1.3680043.8.498.0"]},'
    '"geometry":"0000000000000000","latent_digest":"sha256:00000000000000000000000000000000",'
    '"source_format":"dicom","window":[128.0,2191.0]},"frames":1,"intensity":{"bits_stored":1'
    '6,"dtype":"int16","high":32767,"intercept":-1024.0,"low":-32768,"photometric":"MONOCHROM'
    'E2","signed":true,"slope":1.0},"layout":"frames-first","original_shape":[128,128],"photo'
    'metric":"MONOCHROME2","quality":24,"quantiser":{"backend":"rans","entropy_model":"wavele'
    't-context","method":"deadzone-rdo","step":"2^(-quality/4) of 2^bits_stored - 1"},"rows":'
    '128,"samples":1,"signed":true,"tiling":{"pad_mode":"edge","pad_multiple":1,"tile":2048}}',
    '{"bits_stored":12,"checkpoint_sha256":"0000000000000000","codec_id":"wavelet-ctx","colum'
    'ns":512,"digest":"sha256:00000000000000000000000000000000","dtype":"uint16","extra":{"ge'
    'ometry":"0000000000000000","latent_digest":"sha256:00000000000000000000000000000000","so'
    'urce_format":"array","window":[86.0,1879.0]},"frames":1,"intensity":{"bits_stored":12,"d'
    'type":"uint16","high":4095,"intercept":0.0,"low":0,"photometric":"MONOCHROME2","signed":'
    'false,"slope":1.0},"layout":"frames-first","original_shape":[512,512],"photometric":"MON'
    'OCHROME2","quality":24,"quantiser":{"backend":"rans","entropy_model":"wavelet-context","'
    'method":"deadzone-rdo","step":"2^(-quality/4) of 2^bits_stored - 1"},"rows":512,"samples'
    '":1,"signed":false,"tiling":{"pad_mode":"edge","pad_multiple":1,"tile":2048}}',
    '{"bits_stored":8,"checkpoint_sha256":"0000000000000000","codec_id":"wavelet-ctx","column'
    's":512,"digest":"sha256:00000000000000000000000000000000","dtype":"uint8","extra":{"geom'
    'etry":"0000000000000000","latent_digest":"sha256:00000000000000000000000000000000","sour'
    'ce_format":"array","window":[8.0,194.0]},"frames":1,"intensity":{"bits_stored":8,"dtype"'
    ':"uint8","high":255,"intercept":0.0,"low":0,"photometric":"MONOCHROME2","signed":false,"'
    'slope":1.0},"layout":"frames-first","original_shape":[512,512],"photometric":"MONOCHROME'
    '2","quality":24,"quantiser":{"backend":"rans","entropy_model":"wavelet-context","method"'
    ':"deadzone-rdo","step":"2^(-quality/4) of 2^bits_stored - 1"},"rows":512,"samples":1,"si'
    'gned":false,"tiling":{"pad_mode":"edge","pad_multiple":1,"tile":2048}}',
)

DICTIONARY_3: bytes = "\n".join(_HEADERS_3).encode("ascii")
DICTIONARY_3_ID: int = zlib.adler32(DICTIONARY_3)
