"""Classifiers of the protocols: torchvision MobileNetV2 and ResNet50, the papers' small CNN, a tiny CNN.

ImageNet weights cannot be downloaded here, so the torchvision models are
built with ``weights=None`` and trained from scratch (stated in every result).
Grey inputs: the first convolution is replaced by a 1-channel one of the same
shape (no pretrained weights exist to be averaged, so nothing is lost).
"""

from __future__ import annotations

from typing import cast

from torch import nn

from mcz.downstream.smallcnn import SmallCNN, parameter_groups
from mcz.downstream.tinycnn import TinyCNN
from mcz.errors import UsageError, require

#: Registered classifier names.
CLASSIFIERS = ("tinycnn", "smallcnn", "mobilenet_v2", "resnet50")
#: How every classifier is initialised (reported with the results).
INITIALISATION = "from scratch (weights=None; ImageNet weights unavailable offline)"


def build(name: str, resolution: int) -> nn.Module:
    """A fresh 2-class classifier taking ``(N, 1, resolution, resolution)`` inputs in [0, 1]."""
    if name == "smallcnn":
        return SmallCNN(resolution)
    if name == "tinycnn":
        return TinyCNN()
    if name not in CLASSIFIERS:
        raise UsageError(f"found classifier {name!r}; expected one of {', '.join(CLASSIFIERS)}")
    models = require("torchvision.models", "downstream")
    if name == "mobilenet_v2":
        model = models.mobilenet_v2(weights=None, num_classes=2)
        old = model.features[0][0]
        model.features[0][0] = nn.Conv2d(
            1, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False
        )
        return model
    model = models.resnet50(weights=None, num_classes=2)
    old = model.conv1
    model.conv1 = nn.Conv2d(1, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False)
    return model


def optimiser_groups(model: nn.Module) -> list[dict]:
    """Parameter groups: the small CNN's L2 on its kernels; none for the torchvision models."""
    if isinstance(model, SmallCNN):
        return parameter_groups(model)
    return [{"params": list(model.parameters()), "weight_decay": 0.0}]


def feature_layers(model: nn.Module) -> nn.Module:
    """The convolutional trunk whose activations the task-aware loss matches."""
    if isinstance(model, SmallCNN):
        return model.features
    if hasattr(model, "features"):
        # A torchvision trunk (nn.Sequential); nn.Module.__getattr__ is typed as returning Tensor | Module.
        return cast(nn.Module, model.features)
    return nn.Sequential(*list(model.children())[:-2])
