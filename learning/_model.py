"""The fall classifier as the detector uses it, and its file format.

A model file is a joblib dump of one dict: ``format``, ``feature_version``,
``feature_names``, ``threshold``, ``estimator`` (a fitted scikit-learn classifier over
:func:`feature_matrix`) and ``metadata`` (how it was trained: scikit-learn version, seeds,
counts, metrics). It is read from a local file only; a file of another format or feature
version is refused with :class:`ModelError`, never scored with the wrong features.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ._features import (
    FEATURE_IMPACT_G,
    FEATURE_NAMES,
    FEATURE_VERSION,
    WindowBatch,
    feature_matrix,
)

MODEL_FORMAT = 1
_PEAK = FEATURE_NAMES.index("peak_g")
SHIPPED_MODEL = "fall-v2.joblib"


def gated_scores(estimator: Any, features: np.ndarray) -> np.ndarray:
    """``estimator``'s fall probability of each row of a :func:`feature_matrix`, 0 for a
    window without an impact (peak below ``FEATURE_IMPACT_G``), which holds no fall.

    Most of a band's windows are ordinary movement with no impact; not asking the estimator
    about them keeps a forest's per-window cost (milliseconds) off the stream. Training
    scores its candidates through this too, so the figures are the detector's.
    """
    scores = np.zeros(len(features))
    asked = features[:, _PEAK] >= FEATURE_IMPACT_G
    if asked.any():
        scores[asked] = estimator.predict_proba(features[asked])[:, 1]
    return scores


class ModelError(Exception):
    """A model file that cannot be used: missing, unreadable, or made for other features."""


@dataclass(frozen=True, slots=True)
class FallClassifier:
    """A trained fall classifier: ``score`` is its probability that a window holds a fall,
    and a window scoring at or above ``threshold`` is a possible fall.

    Stateless once built: one instance may serve every detector of a process.
    """

    estimator: Any
    threshold: float
    feature_version: str = FEATURE_VERSION
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def score(self, batch: WindowBatch) -> np.ndarray:
        """Fall probability of each window of ``batch``, ``(m,)``."""
        return self.score_features(feature_matrix(batch))

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """Fall probability of each row of a :func:`feature_matrix`."""
        return gated_scores(self.estimator, features)

    def score_one(self, samples: Sequence[Sequence[float]] | np.ndarray, hz: float) -> float:
        """Fall probability of one window of ``[x, y, z]`` samples (g) at ``hz``."""
        return float(self.score(WindowBatch.of([samples], hz))[0])

    def save(self, path: Path) -> None:
        """Write the model file (parents created)."""
        import joblib

        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({
            "format": MODEL_FORMAT,
            "feature_version": self.feature_version,
            "feature_names": list(FEATURE_NAMES),
            "threshold": self.threshold,
            "estimator": self.estimator,
            "metadata": dict(self.metadata),
        }, path, compress=3)

    @classmethod
    def load(cls, path: Path | str | None = None) -> FallClassifier:
        """Read a model file; None reads the model shipped with safehood.

        Raises :class:`ModelError` when the file is missing or unreadable, or was made for
        another format or feature version than this safehood computes.
        """
        if path is None:
            return _shipped()
        return _read(Path(path))


def shipped_model_path() -> Path:
    """Where the model shipped with the package lies."""
    return Path(str(resources.files("safehood.learning") / "models" / SHIPPED_MODEL))


@lru_cache(maxsize=1)
def _shipped() -> FallClassifier:
    # Read once per process: every engine built in it (tests, the demo) shares the object.
    return _read(shipped_model_path())


def _read(path: Path) -> FallClassifier:
    import joblib

    if not path.is_file():
        raise ModelError(f"no fall model at {path}")
    try:
        data = joblib.load(path)
    except Exception as exc:  # joblib/pickle raise anything on a foreign or broken file
        raise ModelError(f"cannot read fall model {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path} is not a safehood fall model (format {MODEL_FORMAT})")
    version = data.get("feature_version")
    if version != FEATURE_VERSION or list(data.get("feature_names", ())) != list(FEATURE_NAMES):
        raise ModelError(
            f"fall model {path} was trained on features {version!r}, this safehood computes "
            f"{FEATURE_VERSION!r}: retrain it with `safehood train`")
    return FallClassifier(data["estimator"], float(data["threshold"]), version,
                          data.get("metadata", {}))
