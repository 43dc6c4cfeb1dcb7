"""Learned detection for safehood: the fall classifier's features and model file.

The front door is what the streaming detector needs: :class:`WindowBatch`,
:func:`aftermath` and :func:`feature_matrix` (the features, vectorised over windows),
:class:`FallClassifier` (a trained model with its threshold, read from a model file) and
:class:`ModelError`.
Training and its report live in :mod:`safehood.learning.training`, which the ``safehood
train`` command imports; the detectors never do.
"""

from ._features import (
    FEATURE_IMPACT_G,
    FEATURE_NAMES,
    FEATURE_VERSION,
    Aftermath,
    WindowBatch,
    aftermath,
    angle_deg,
    feature_matrix,
    tail_directions,
)
from ._model import FallClassifier, ModelError, shipped_model_path

__all__ = [
    "FEATURE_IMPACT_G",
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "Aftermath",
    "FallClassifier",
    "ModelError",
    "WindowBatch",
    "aftermath",
    "angle_deg",
    "feature_matrix",
    "shipped_model_path",
    "tail_directions",
]
