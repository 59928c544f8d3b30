"""The SSDH objective as in the official implementation (Caffe prototxt of arXiv 1507.00101):

    softmax cross-entropy
    + alpha * ( -mean over images and bits of (h - 0.5)^2 )       # push activations to 0 or 1
    + beta  * mean over images of (mean over bits of h - 0.5)^2    # each code ~half ones

With alpha = beta = 0 it is a plain classifier whose penultimate layer happens to be sigmoid."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def ssdh_loss(latent: torch.Tensor, logits: torch.Tensor, target: torch.Tensor,
              alpha: float = 1.0, beta: float = 1.0):
    ce = F.cross_entropy(logits, target)
    binarize = -((latent - 0.5) ** 2).mean()
    balance = ((latent.mean(dim=1) - 0.5) ** 2).mean()
    total = ce + alpha * binarize + beta * balance
    return total, {"ce": ce.item(), "binarize": binarize.item(), "balance": balance.item()}
