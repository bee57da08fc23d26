"""Loss layers: modules around the losses of ``anygrad.nn.functional``."""

from __future__ import annotations

from typing import Any

from . import _validate as V
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = V.choice(type(self).__name__, "reduction", reduction,
                                  ("mean", "sum", "none"))

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Cross entropy of logits against class labels or class probabilities."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0, *, dim: int = 1):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = V.integer("CrossEntropyLoss", "ignore_index", ignore_index)
        self.label_smoothing = V.probability("CrossEntropyLoss", "label_smoothing",
                                             label_smoothing)
        self.dim = V.integer("CrossEntropyLoss", "dim", dim)  #: the class axis

    def forward(self, logits: Any, target: Any) -> Any:
        """The loss of ``logits`` against ``target`` (see ``functional.cross_entropy``)."""
        return F.cross_entropy(logits, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing, dim=self.dim)


class NLLLoss(_Loss):
    """Negative log-likelihood of class labels under log-probabilities."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean",
                 *, dim: int = 1):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = V.integer("NLLLoss", "ignore_index", ignore_index)
        self.dim = V.integer("NLLLoss", "dim", dim)  #: the class axis

    def forward(self, logp: Any, target: Any) -> Any:
        """The loss of ``logp`` against ``target`` (see ``functional.nll_loss``)."""
        return F.nll_loss(logp, target, self.weight, self.ignore_index, self.reduction,
                          dim=self.dim)


class MSELoss(_Loss):
    """Squared error."""

    def forward(self, x: Any, target: Any) -> Any:
        """The loss of ``x`` against ``target`` (of one shape)."""
        return F.mse_loss(x, target, self.reduction)


class L1Loss(_Loss):
    """Absolute error."""

    def forward(self, x: Any, target: Any) -> Any:
        """The loss of ``x`` against ``target`` (of one shape)."""
        return F.l1_loss(x, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross entropy of probabilities."""

    def forward(self, p: Any, target: Any) -> Any:
        """The loss of probabilities ``p`` against ``target`` (of one shape)."""
        return F.binary_cross_entropy(p, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross entropy of ``sigmoid(logits)``, computed stably."""

    def __init__(self, reduction: str = "mean", pos_weight: Any = None):
        super().__init__(reduction)
        self.pos_weight = pos_weight

    def forward(self, logits: Any, target: Any) -> Any:
        """The loss of ``logits`` against ``target`` (of one shape)."""
        return F.binary_cross_entropy_with_logits(logits, target, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)
