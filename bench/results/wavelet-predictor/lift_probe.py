"""Probe: how much of the finest detail bands can a small CNN predict from the decoded level-1 low band?

Zeroth-order entropy of the rounded normalised coefficients with and without the prediction
subtracted (distortion is unchanged: the quantiser works on the residual in the same domain).
Not part of mcz.
"""
import math, sys, time
import numpy as np, torch
from mcz.codec.wavelet import frames, lifting, coder
from mcz.datasets import volumes

torch.manual_seed(0); rng = np.random.default_rng(0)
QUAL = (16, 24, 32, 40)
LEVELS_MAX = 99

def tuning():
    out = []
    for n in volumes.CTMR_SPLITS["train"]:
        img = volumes.load_volume(n); px = img.pixels.astype(np.float64)
        lo, hi = float(px.min()), float(px.max()); peak = float(2**img.intensity.bits_stored - 1)
        for i in range(4):
            k = int((i + 0.25) * len(px) / 4)
            out.append(frames.UnitFrame(f"{n}[{k}]", px[k], lo, hi, peak))
    return out

def sample(f, q):
    unit = f.unit; r, c = unit.shape
    levels = lifting.levels_for(r, c, 6)
    step = coder.step_size(q, f.range_per_unit)
    u, gains = coder.normalised(unit, levels, step)
    # decoder's coarse bands: rounded (the RD quantiser is ignored here)
    bands = [np.rint(u[0]) * step / math.sqrt(gains[0])]
    out = []
    for d in range(1, levels + 1):  # predict u[d] from the low band rebuilt from bands[:d]
        if d > LEVELS_MAX: break
        low = lifting.inverse(bands[:d]) * math.sqrt(lifting.band_gains(levels - d + 1)[0]) / step
        tgt = [u[d][o] for o in range(3)]
        hh, ww = min(t.shape[0] for t in tgt), min(t.shape[1] for t in tgt)
        if min(hh, ww) >= 8:
            out.append((levels - d + 1, low[:hh, :ww].astype(np.float32), np.stack([t[:hh, :ww] for t in tgt]).astype(np.float32)))
        if d < levels:
            bands.append(tuple(np.rint(u[d][o]) * step / math.sqrt(gains[d][o]) for o in range(3)))
    return out

class Net(torch.nn.Module):
    def __init__(s, ch=16):
        super().__init__()
        import os
        k1 = int(os.environ.get("K1", 5)); k2 = int(os.environ.get("K2", 3)); k3 = int(os.environ.get("K3", 3))
        s.a = torch.nn.Conv2d(1, ch, k1, padding=k1//2); s.b = torch.nn.Conv2d(ch, ch, k2, padding=k2//2)
        s.c = torch.nn.Conv2d(ch, 3, k3, padding=k3//2)
        torch.nn.init.zeros_(s.c.weight); torch.nn.init.zeros_(s.c.bias)
    def forward(s, x):
        m = torch.nn.functional.avg_pool2d(x, 5, 1, 2, count_include_pad=False)
        d = x - m
        sc = torch.nn.functional.avg_pool2d(d.abs(), 5, 1, 2, count_include_pad=False) + 0.5
        y = torch.relu(s.a(d / sc)); y = torch.relu(s.b(y))
        return s.c(y) * sc

def ctx_bits(v):
    q = np.rint(v).astype(np.int64); a = np.abs(q)
    n = np.zeros_like(a)
    n[1:] += a[:-1]; n[:, 1:] += a[:, :-1]; n[1:, 1:] += a[:-1, :-1]; n[1:, :-1] += a[:-1, 1:]
    b = np.minimum(np.floor(np.log2(1 + n)).astype(int), 8)
    tot = 0.0
    for k in np.unique(b):
        tot += entropy_bits(q[b == k])
    return tot

def entropy_bits(v):
    q = np.rint(v).astype(np.int64).ravel()
    _, n = np.unique(q, return_counts=True); p = n / n.sum()
    return float(-(n * np.log2(p)).sum())

def main():
    train = frames.br35h_frames("train", 120) + frames.ctmr_frames("train", 8)
    evals = {"br35h-val": frames.br35h_frames("val", 12), "ctmr-tuning": tuning()}
    LV = set(int(a) for a in sys.argv[2].split(','))
    data = [(lo, hi) for f in train for q in QUAL for (lv, lo, hi) in sample(f, q) if lv in LV]
    print("train samples", len(data), flush=True)
    net = Net(int(__import__("os").environ.get("CH", 16))); opt = torch.optim.Adam(net.parameters(), 1e-3)
    t0 = time.time()
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
    for it in range(steps):
        xs, ys = [], []
        for _ in range(16):
            lo, hi = data[rng.integers(len(data))]
            H, W = lo.shape; s = min(64, H, W)
            i, j = rng.integers(0, H - s + 1), rng.integers(0, W - s + 1)
            xs.append(lo[i:i+s, j:j+s]); ys.append(hi[:, i:i+s, j:j+s])
        s = min(x.shape[0] for x in xs), min(x.shape[1] for x in xs)
        x = torch.from_numpy(np.stack([a[:s[0], :s[1]] for a in xs]))[:, None]
        y = torch.from_numpy(np.stack([a[:, :s[0], :s[1]] for a in ys]))
        w = 1.0 if len(sys.argv) < 4 else 1.0 / (y.abs().mean(dim=(1, 2, 3), keepdim=True) + 1.0)
        loss = ((net(x) - y).abs() * w).mean()
        opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0); opt.step()
        if it % 250 == 0: print(it, float(loss), f"{time.time()-t0:.0f}s", flush=True)
    net.eval()
    for name, fs in evals.items():
        for q in QUAL:
            b0 = b1 = c0 = c1 = 0.0; per = {}
            for f in fs:
                for lev, lo, hi in sample(f, q):
                    if lev not in LV: continue
                    with torch.no_grad(): p = net(torch.from_numpy(lo)[None, None])[0].numpy()
                    e = per.setdefault(lev, [0.0, 0.0])
                    for o in range(3):
                        x0, x1 = ctx_bits(hi[o]), ctx_bits(hi[o] - p[o])
                        c0 += x0; c1 += x1; e[0] += x0; e[1] += x1
                        b0 += entropy_bits(hi[o]); b1 += entropy_bits(hi[o] - p[o])
            lv = " ".join(f"L{k}:{100*(v[1]/max(v[0],1)-1):+.1f}" for k, v in sorted(per.items()))
            print(f"{name} q{q}: detail bits(0th) {b0/8/1024:.1f} KiB {100*(b1/b0-1):+.2f} %; ctx {c0/8/1024:.1f} KiB -> {100*(c1/c0-1):+.2f} %  [{lv}]", flush=True)

main()
