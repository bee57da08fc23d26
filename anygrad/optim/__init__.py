"""Optimizers and learning-rate schedules, with PyTorch's names and update formulas."""

from __future__ import annotations

from . import lr_scheduler
from .adam import Adam, AdamW
from .lr_scheduler import (
    CosineAnnealingLR,
    CosineAnnealingWarmRestarts,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler", "LRScheduler", "StepLR",
           "ExponentialLR", "LinearLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
           "OneCycleLR", "ReduceLROnPlateau"]
