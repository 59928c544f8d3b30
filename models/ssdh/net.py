"""SSDH network: backbone -> fc7-like hidden layer -> latent layer H (K sigmoid units) ->
classification layer that reads H only, as in the official Caffe model (fc7 -> latent -> fc8).

The official model fine-tunes an ImageNet-pretrained AlexNet; no pretrained weights can be fetched
here, so the backbone is a compact CNN trained from scratch."""
from __future__ import annotations

import torch
from torch import nn

from .options import BACKBONES


def conv_bn_relu(cin: int, cout: int) -> list:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class SSDH(nn.Module):
    def __init__(self, code_bits: int, num_classes: int, in_channels: int = 1,
                 height: int = 28, width: int = 28, backbone: str = "cnn4", dropout: float = 0.3):
        super().__init__()
        if (height, width) != (28, 28) and (height % 24 or width % 24):
            # Three 2x poolings then an adaptive pool to 3x3 that must lower to a plain AveragePool
            # in ONNX, which needs the 1/8-size feature map to be a multiple of 3.
            raise ValueError("input size must be 28x28 or multiples of 24")
        if backbone not in BACKBONES:
            raise ValueError(f"unknown backbone {backbone!r}; known: {sorted(BACKBONES)}")
        cfg = BACKBONES[backbone]
        hidden = cfg["hidden"]
        self.features = nn.Sequential(
            *conv_bn_relu(in_channels, 32), nn.MaxPool2d(2),
            *conv_bn_relu(32, 64), *conv_bn_relu(64, 64), nn.MaxPool2d(2),
            *conv_bn_relu(64, 128), *(conv_bn_relu(128, 128) if cfg["deep_conv"] else []), nn.MaxPool2d(2),
        )
        self.pool = nn.Identity() if (height, width) == (28, 28) else nn.AdaptiveAvgPool2d(3)
        self.fc7 = nn.Sequential(nn.Flatten(), nn.Linear(128 * 9, hidden), nn.ReLU(inplace=True),
                                 nn.Dropout(dropout))
        self.latent = nn.Linear(hidden, code_bits)
        self.classifier = nn.Linear(code_bits, num_classes)

    def forward(self, image: torch.Tensor):
        h = torch.sigmoid(self.latent(self.fc7(self.pool(self.features(image)))))
        return h, self.classifier(h)
