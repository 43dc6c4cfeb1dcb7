"""The model file: the shipped one loads from disk alone and scores; a model made for other
features, or no model at all, is refused with a clear error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from safehood.learning import FallClassifier, ModelError, shipped_model_path

# Any socket use in the child fails: loading and scoring must need no network.
NO_NETWORK = """
import socket
def refuse(*args, **kwargs):
    raise OSError("network used")
class NoNetworkSocket(socket.socket):
    connect = connect_ex = sendto = bind = refuse
socket.socket = NoNetworkSocket
socket.create_connection = socket.getaddrinfo = refuse
import numpy as np
from safehood.learning import FallClassifier
from safehood.simulators import _physics as physics
model = FallClassifier.load()
rng = np.random.default_rng(123)
fall, walk = physics.fall(rng), physics.walking(rng)
print(model.score_one(fall.accel, fall.hz) >= model.threshold,
      model.score_one(walk.accel, walk.hz) >= model.threshold, model.feature_version)
"""


def test_the_shipped_model_loads_and_scores_with_no_network() -> None:
    done = subprocess.run([sys.executable, "-c", NO_NETWORK], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    fall_flagged, walk_flagged, version = done.stdout.split()
    assert (fall_flagged, walk_flagged) == ("True", "False")
    assert version == FallClassifier.load().feature_version


def test_the_shipped_model_is_small_and_says_how_it_was_trained() -> None:
    assert shipped_model_path().stat().st_size < 300_000
    metadata = FallClassifier.load().metadata
    for key in ("sklearn_version", "source", "training_counts", "held_out", "model"):
        assert key in metadata
    held = metadata["held_out"][metadata["model"]]
    assert held["sensitivity"] >= 0.95 and held["specificity"] >= 0.995


def test_a_model_for_other_features_is_refused(tmp_path: Path) -> None:
    shipped = FallClassifier.load()
    stale = FallClassifier(shipped.estimator, shipped.threshold, "fall-features-0", {})
    stale.save(tmp_path / "old.joblib")
    with pytest.raises(ModelError, match="retrain"):
        FallClassifier.load(tmp_path / "old.joblib")


@pytest.mark.parametrize("content", [None, b"not a model", b""])
def test_a_missing_or_foreign_file_is_refused(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "model.joblib"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelError):
        FallClassifier.load(path)


def test_a_saved_model_loads_back_the_same(tmp_path: Path) -> None:
    shipped = FallClassifier.load()
    shipped.save(tmp_path / "copy.joblib")
    copy = FallClassifier.load(tmp_path / "copy.joblib")
    window = np.random.default_rng(0).normal(0, 0.02, (100, 3)) + np.array([0.0, 0.0, 1.0])
    assert copy.threshold == shipped.threshold
    assert copy.score_one(window, 50.0) == shipped.score_one(window, 50.0)
