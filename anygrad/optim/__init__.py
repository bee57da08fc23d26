"""Optimizers and learning-rate schedules, with PyTorch's names and update formulas."""

from __future__ import annotations

from . import lr_scheduler
from .adam import Adam, AdamW
from .lr_scheduler import CosineAnnealingLR, ReduceLROnPlateau, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler", "StepLR", "CosineAnnealingLR",
           "ReduceLROnPlateau"]
