"""Fixed-point convolutions: layers whose inference output is the same on every backend.

A learned entropy model only decodes if the decoder computes *exactly* the
probability tables the encoder used.  Float convolutions do not promise that: a
different CPU, thread count or runtime sums in another order and the last bits
change, which can move a predicted scale across a table boundary and derail the
entropy decoder.  These layers (after Ballé et al. 2019, "Integer networks for
data compression") avoid it:

* inputs are integers (or fixed-point numbers with ``in_frac`` fractional bits,
  carried as integers), weights and biases are integers;
* every partial sum of the convolution is an integer below 2**24 in magnitude
  (enforced when the layer is frozen), so float32 and float64 represent each one
  exactly and any summation order gives the same result;
* the rescale is one IEEE float32 multiplication by a stored per-channel factor
  followed by round-half-to-even and a clamp — elementwise operations that IEEE
  754 defines exactly, in PyTorch as in ONNX Runtime.

During training the same arithmetic is simulated with straight-through rounding,
so the network learns under the quantisation it will run with.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Every integer partial sum must stay below this so that float32 holds it exactly.
EXACT_LIMIT = 2**24
#: Largest magnitude of an integer weight.
WEIGHT_MAX = 127


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """Round half to even in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


class _RangeClamp(torch.autograd.Function):
    """Clamp whose gradient still flows where it would move a clamped value back into range.

    A plain clamp has zero gradient outside its range: a scale index stuck at 0
    (the smallest scale) could then never grow, and the network would learn to
    zero the latents there instead.  This is CompressAI's ``LowerBound`` rule on
    both ends.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, low: float, high: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.low, ctx.high = low, high
        return x.clamp(low, high)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        inside = (x >= ctx.low) & (x <= ctx.high)
        back_in = ((x < ctx.low) & (grad < 0)) | ((x > ctx.high) & (grad > 0))
        return grad * (inside | back_in), None, None


def range_clamp(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Clamp to [low, high] with the back-into-range gradient of :class:`_RangeClamp`."""
    return _RangeClamp.apply(x, low, high)


class FixedPointConv(nn.Module):
    """A (transposed) convolution with an exact integer inference path.

    Parameters
    ----------
    in_channels, out_channels, kernel, stride : int
        As for :class:`torch.nn.Conv2d`; ``transpose`` picks ConvTranspose2d with
        ``output_padding = stride - 1`` (output exactly ``stride`` x the input).
    in_max : int
        Largest magnitude of the integer input codes (bounds the partial sums).
    out_low, out_high : int
        Clamp of the integer output codes (``0, 255`` is a quantised ReLU).
    out_scale : float
        Real value of one output code (e.g. ``1/16``); the input's is ``in_scale``.
    """

    # Buffers registered in __init__ (nn.Module.__getattr__ is typed as returning Tensor | Module).
    weight_int: torch.Tensor
    bias_int: torch.Tensor
    multiplier: torch.Tensor
    frozen: torch.Tensor

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        stride: int = 1,
        transpose: bool = False,
        *,
        in_max: int,
        in_scale: float,
        out_low: int,
        out_high: int,
        out_scale: float,
    ) -> None:
        super().__init__()
        self.transpose, self.stride, self.padding = transpose, stride, kernel // 2
        self.in_max, self.in_scale = int(in_max), float(in_scale)
        self.out_low, self.out_high, self.out_scale = int(out_low), int(out_high), float(out_scale)
        shape = (in_channels, out_channels, kernel, kernel) if transpose else (out_channels, in_channels, kernel, kernel)
        conv = (nn.ConvTranspose2d if transpose else nn.Conv2d)(in_channels, out_channels, kernel, stride)
        self.weight = nn.Parameter(conv.weight.detach().clone())
        assert conv.bias is not None  # built with the default bias=True
        self.bias = nn.Parameter(conv.bias.detach().clone())
        # The frozen integer form, stored in the checkpoint and used for inference.
        self.register_buffer("weight_int", torch.zeros(shape, dtype=torch.int8))  # |w| <= 127
        self.register_buffer("bias_int", torch.zeros(out_channels, dtype=torch.int32))
        self.register_buffer("multiplier", torch.zeros(out_channels, dtype=torch.float32))
        self.register_buffer("frozen", torch.zeros((), dtype=torch.int32))

    # -- the arithmetic shared by training and inference -------------------------------
    def _out_axis(self) -> int:
        return 1 if self.transpose else 0

    def _weight_step(self) -> torch.Tensor:
        """Per-output-channel real value of one weight unit, chosen so sums stay exact."""
        axis = self._out_axis()
        dims = [d for d in range(4) if d != axis]
        w = self.weight.detach().abs()
        by_max = w.amax(dim=dims) / WEIGHT_MAX
        # sum|w_int| * in_max plus rounding slack must stay below EXACT_LIMIT / 2
        # (the other half is the bias's share).
        count = w.numel() // w.shape[axis]
        budget = EXACT_LIMIT / 2 / self.in_max - count
        by_sum = w.sum(dim=dims) / budget
        return torch.maximum(by_max, by_sum).clamp_min(1e-8)

    def _conv(self, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        if self.transpose:
            return F.conv_transpose2d(x, weight, bias, self.stride, self.padding, output_padding=self.stride - 1)
        return F.conv2d(x, weight, bias, self.stride, self.padding)

    def _view(self, t: torch.Tensor) -> torch.Tensor:
        return t.view(1, -1, 1, 1)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        """Integer input codes -> integer output codes (float tensors holding integers)."""
        if not self.training and int(self.frozen):
            return self.exact(codes)
        step = self._weight_step()
        shape = [1, 1, 1, 1]
        shape[self._out_axis()] = -1
        w_int = ste_round(self.weight / step.view(shape)).clamp(-WEIGHT_MAX, WEIGHT_MAX)
        unit = step * self.in_scale  # real value of one accumulator unit
        b_int = ste_round(self.bias / unit).clamp(-EXACT_LIMIT // 2, EXACT_LIMIT // 2)
        acc = self._conv(codes, w_int, b_int)
        out = ste_round(acc * self._view(unit / self.out_scale))
        return range_clamp(out, self.out_low, self.out_high)

    # -- the frozen integer form ------------------------------------------------------------
    @torch.no_grad()
    def freeze(self) -> None:
        """Fix the integer weights, biases and multipliers from the current float weights."""
        step = self._weight_step()
        shape = [1, 1, 1, 1]
        shape[self._out_axis()] = -1
        w_int = torch.round(self.weight / step.view(shape)).clamp(-WEIGHT_MAX, WEIGHT_MAX)
        unit = step * self.in_scale
        b_int = torch.round(self.bias / unit).clamp(-EXACT_LIMIT // 2, EXACT_LIMIT // 2)
        self.weight_int.copy_(w_int.to(torch.int8))
        self.bias_int.copy_(b_int.to(torch.int32))
        self.multiplier.copy_((unit / self.out_scale).to(torch.float32))
        self.frozen.fill_(1)
        self.check_bound()

    def accumulator_bound(self) -> int:
        """Largest possible |partial sum| of the frozen layer for any admissible input."""
        axis = self._out_axis()
        dims = [d for d in range(4) if d != axis]
        weights = self.weight_int.to(torch.int64).abs().sum(dim=dims)
        return int((weights * self.in_max + self.bias_int.to(torch.int64).abs()).max())

    def check_bound(self) -> None:
        """Raise if some partial sum could leave float32's exact integer range."""
        bound = self.accumulator_bound()
        if bound >= EXACT_LIMIT:
            raise ValueError(f"fixed-point layer could reach |sum| {bound} >= 2**24; it would not decode exactly")

    def exact(self, codes: torch.Tensor) -> torch.Tensor:
        """The inference arithmetic: exact integer convolution, float32 rescale, round, clamp.

        The convolution runs in float64 (integers far below 2**53: exact in any
        order); its result is an integer below 2**24, so the cast to float32 is
        exact too and the rest is IEEE elementwise arithmetic.
        """
        acc = self._conv(codes.double(), self.weight_int.double(), self.bias_int.double()).float()
        return torch.round(acc * self._view(self.multiplier)).clamp(self.out_low, self.out_high)


class Float32Exact(nn.Module):
    """A frozen layer's arithmetic in float32 only, for export to runtimes without float64 convolutions.

    Exact for the same reason as :meth:`FixedPointConv.exact`: every partial sum
    is an integer below 2**24 (checked at freezing), which float32 holds exactly.
    """

    def __init__(self, layer: FixedPointConv) -> None:
        super().__init__()
        layer.check_bound()
        self.layer = layer

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        layer = self.layer
        acc = layer._conv(codes, layer.weight_int.float(), layer.bias_int.float())
        return torch.round(acc * layer._view(layer.multiplier)).clamp(layer.out_low, layer.out_high)
