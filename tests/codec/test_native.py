"""Loading CompressAI's extensions without its package, and a later full import sharing them."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import sys, numpy as np, mcz
x = (np.arange(96 * 80) % 251).reshape(96, 80).astype(np.uint8)
data = mcz.encode(x)
assert "compressai" not in sys.modules, "the wavelet family imported the whole compressai package"
from mcz.codec import native
ans = native.extension("ans")
import compressai.ans
assert compressai.ans.RansDecoder is ans.RansDecoder  # one module, initialised once
assert np.array_equal(mcz.decode(data), mcz.decode(mcz.encode(x)))
mcz.decode(mcz.encode(x, model="hyperprior-compact"))  # the full package works beside it
print("ok")
"""


def test_wavelet_codec_skips_the_compressai_package_and_shares_its_extensions() -> None:
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
