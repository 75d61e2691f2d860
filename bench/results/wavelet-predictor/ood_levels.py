import sys, numpy as np, pydicom
from pydicom.data import get_testdata_file
from safetensors.numpy import load_file
from mcz.codec.wavelet import tiles
from mcz.codec.wavelet.model import WaveletWeights
from mcz.codec.wavelet.frames import UnitFrame
from mcz.bench.bdrate import bd_rate
name = sys.argv[1]
ds = pydicom.dcmread(get_testdata_file(name)); px = ds.pixel_array.astype(np.float64)
if px.ndim == 3: px = px[0]
px = px[:512, :512]
f = UnitFrame(name, px, float(px.min()), float(px.max()), float(2**int(ds.BitsStored) - 1))
base = {k: v for k, v in load_file("checkpoints/wavelet-ctx-114a0967.safetensors").items()}
def variant(off):
    a = dict(base)
    for lv in off:
        a["predict_w3"] = a["predict_w3"].copy(); a["predict_b3"] = a["predict_b3"].copy()
        a["predict_w3"][lv - 1] = 0; a["predict_b3"][lv - 1] = 0
    return WaveletWeights(a).tables()
bits = int(ds.BitsStored)
qs = list(range(4 * bits - 28, 4 * bits + 12, 3))
def curve(t):
    r, p = [], []
    for q in qs:
        ch, rec, _ = tiles.encode_tile(t, f.unit, q, f.range_per_unit, 0, 0, span=int(round(f.high - f.low)))
        r.append(8 * (len(ch.payload) + len(ch.side)) / px.size); p.append(f.psnr(f.to_stored(rec)))
    keep = [i for i in range(len(p)) if np.isfinite(p[i])]
    return [r[i] for i in keep], [p[i] for i in keep]
ref = curve(variant([1, 2, 3]))
for off in ([], [1], [2], [3]):
    r, p = curve(variant(off))
    print(name, "off", off, f"BD vs no prediction {bd_rate(r, p, *ref).percent:+.2f} %", flush=True)
