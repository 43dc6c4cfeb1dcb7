"""Training the fall classifier and reporting how it does against the rules.

:func:`train` fits each candidate (logistic regression, gradient boosting, random forest) on
the training windows, picks each one's threshold from out-of-fold scores (folds never split a
seed or wearable) for high sensitivity within a false-alarm budget (:func:`_threshold_for`), chooses
the candidate with the best out-of-fold specificity at its threshold, refits it on all the
training windows and scores everything, the rule path included, on held-out windows the
choice never saw. :func:`write_report` writes what it found.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from safehood.detectors.config import FallConfig
from safehood.detectors.fall import accelerometer_says_fall, window_features

from ._dataset import (
    FALL,
    HARD_NEGATIVES,
    ORDINARY_WINDOWS_PER_DAY,
    WindowSet,
    recorded_windows,
    simulate_windows,
)
from ._features import FEATURE_NAMES, FEATURE_VERSION, feature_matrix
from ._model import FallClassifier, gated_scores

__all__ = [
    "CANDIDATES",
    "Evaluation",
    "TrainingResult",
    "WindowSet",
    "recorded_windows",
    "rule_decisions",
    "simulate_windows",
    "train",
    "write_report",
]

# On out-of-fold training windows, stricter than the acceptance on held-out ones (95% at 99.5%).
TARGET_SENSITIVITY = 0.99
TARGET_SPECIFICITY = 0.998
FOLDS = 3
RULES = "rules"


def _logistic(seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))


def _gradient_boosting(seed: int) -> Any:
    # The classic implementation, not the histogram one: the detector scores one window at
    # a time, and the histogram one's OpenMP threads make that cost up to a second on a
    # busy machine, against a fraction of a millisecond here.
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=150, max_depth=3, learning_rate=0.1,
                                      random_state=seed)


def _random_forest(seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    # Shallow trees keep the model file small; deeper ones gained nothing on held-out seeds.
    return RandomForestClassifier(n_estimators=60, max_depth=8, min_samples_leaf=2,
                                  random_state=seed, n_jobs=1)


# In order of preference on a tie: the simplest first.
CANDIDATES: dict[str, Callable[[int], Any]] = {
    "logistic_regression": _logistic,
    "gradient_boosting": _gradient_boosting,
    "random_forest": _random_forest,
}


@dataclass(frozen=True, slots=True)
class Evaluation:
    """How one method decides on a set of windows (1 is a possible fall)."""

    method: str
    threshold: float | None
    decisions: np.ndarray
    scores: np.ndarray | None
    truth: np.ndarray
    kind: np.ndarray

    def figures(self) -> dict[str, Any]:
        """Confusion matrix, sensitivity, specificity (all negatives, ordinary ones alone),
        alarm rate per hard negative, false alarms per resident-day, ROC AUC, average
        precision."""
        truth, said = self.truth, self.decisions
        tp = int(np.sum(truth & said))
        fn = int(np.sum(truth & ~said))
        fp = int(np.sum(~truth & said))
        tn = int(np.sum(~truth & ~said))
        ordinary = ~truth & ~np.isin(self.kind, HARD_NEGATIVES)
        ordinary_fp_rate = _ratio(int(np.sum(ordinary & said)), int(np.sum(ordinary)))
        out: dict[str, Any] = {
            "method": self.method,
            "threshold": self.threshold,
            "confusion": {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
            "sensitivity": _ratio(tp, tp + fn),
            "specificity": _ratio(tn, tn + fp),
            "specificity_ordinary": None if ordinary_fp_rate is None else 1.0 - ordinary_fp_rate,
            "hard_negative_alarm_rate": {
                variant: _ratio(int(np.sum((self.kind == variant) & said)),
                                int(np.sum(self.kind == variant)))
                for variant in HARD_NEGATIVES},
            "false_alarms_per_day": None if ordinary_fp_rate is None
            else ordinary_fp_rate * ORDINARY_WINDOWS_PER_DAY,
        }
        if self.scores is not None and truth.any() and (~truth).any():
            from sklearn.metrics import average_precision_score, roc_auc_score

            out["roc_auc"] = float(roc_auc_score(truth, self.scores))
            out["average_precision"] = float(average_precision_score(truth, self.scores))
        return out


@dataclass(slots=True)
class TrainingResult:
    """The chosen classifier, and every method (candidates, rules) on held-out windows."""

    classifier: FallClassifier
    chosen: str
    held_out: dict[str, Evaluation]
    out_of_fold: dict[str, dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)


def rule_decisions(windows: WindowSet, config: FallConfig) -> np.ndarray:
    """The rule path's possible fall on each window, from its accelerometer alone."""
    return np.array([accelerometer_says_fall(window_features(w, float(hz), config), config)
                     for w, hz in zip(windows.windows, windows.hz, strict=True)], dtype=bool)


def train(
    training: WindowSet, held_out: WindowSet, *, seed: int = 0,
    candidates: Mapping[str, Callable[[int], Any]] | None = None,
    rule_config: FallConfig | None = None, source: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> TrainingResult:
    """Fit, choose and evaluate (see the module docstring); ``source`` (seeds, files) goes
    into the model's metadata. ``progress`` is told each step as it starts."""
    import sklearn
    from threadpoolctl import threadpool_limits

    # One thread: on a shared machine OpenMP's busy-waiting threads (gradient boosting) make
    # a seconds-long fit take minutes.
    with threadpool_limits(limits=1):
        return _train(training, held_out, seed=seed, candidates=candidates or CANDIDATES,
                      rule_config=rule_config or FallConfig(), source=source,
                      say=progress or (lambda _: None), sklearn_version=sklearn.__version__)


def _train(
    training: WindowSet, held_out: WindowSet, *, seed: int,
    candidates: Mapping[str, Callable[[int], Any]], rule_config: FallConfig,
    source: Mapping[str, Any] | None, say: Callable[[str], None], sklearn_version: str,
) -> TrainingResult:
    from sklearn.model_selection import GroupKFold

    if not training.is_fall.any() or training.is_fall.all():
        raise ValueError("training windows need both falls and non-falls")
    train_x = feature_matrix(training.batch)
    held_x = feature_matrix(held_out.batch)
    folds = list(GroupKFold(n_splits=min(FOLDS, len(np.unique(training.group))))
                 .split(train_x, training.is_fall, training.group))
    out_of_fold: dict[str, dict[str, Any]] = {}
    for name, make in candidates.items():
        say(f"cross-validating {name}")
        scores = np.zeros(len(training))
        for fit_rows, score_rows in folds:
            model = make(seed).fit(train_x[fit_rows], training.is_fall[fit_rows])
            scores[score_rows] = gated_scores(model, train_x[score_rows])
        threshold = _threshold_for(scores[training.is_fall], scores[~training.is_fall])
        said = scores >= threshold
        out_of_fold[name] = {
            "threshold": threshold,
            "sensitivity": float(np.mean(said[training.is_fall])),
            "specificity": float(np.mean(~said[~training.is_fall])),
        }
    chosen = max(out_of_fold, key=lambda n: (out_of_fold[n]["specificity"],
                                              out_of_fold[n]["sensitivity"]))
    held: dict[str, Evaluation] = {}
    fitted: dict[str, Any] = {}
    for name, make in candidates.items():
        say(f"fitting {name}")
        fitted[name] = make(seed).fit(train_x, training.is_fall)
        scores = gated_scores(fitted[name], held_x)
        threshold = out_of_fold[name]["threshold"]
        held[name] = Evaluation(name, threshold, scores >= threshold, scores,
                                held_out.is_fall, held_out.kind)
    say("scoring the rules")
    held[RULES] = Evaluation(RULES, None, rule_decisions(held_out, rule_config), None,
                             held_out.is_fall, held_out.kind)
    metadata = {
        "model": chosen,
        "sklearn_version": sklearn_version,
        "feature_version": FEATURE_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "threshold_rule": f"lowest with out-of-fold specificity >= {TARGET_SPECIFICITY}, "
                          f"sensitivity >= {TARGET_SENSITIVITY}",
        "seed": seed,
        "source": dict(source or {}),
        "training_counts": training.counts(),
        "held_out_counts": held_out.counts(),
        "out_of_fold": out_of_fold,
        "held_out": {name: evaluation.figures() for name, evaluation in held.items()},
    }
    classifier = FallClassifier(fitted[chosen], out_of_fold[chosen]["threshold"],
                                FEATURE_VERSION, metadata)
    return TrainingResult(classifier, chosen, held, out_of_fold, metadata)


def _threshold_for(positive_scores: np.ndarray, negative_scores: np.ndarray) -> float:
    """The threshold for high sensitivity within a false-alarm budget.

    The lowest threshold that keeps at most ``1 - TARGET_SPECIFICITY`` of the negatives at
    or above it, set midway to the next positive score above the highest negative it lets
    pass (a margin both ways); it is lowered, if need be, to keep ``TARGET_SENSITIVITY`` of
    the positives.
    """
    negatives = np.sort(negative_scores)[::-1]
    allowed = int(np.floor((1.0 - TARGET_SPECIFICITY) * len(negatives)))
    passing = negatives[allowed] if allowed < len(negatives) else 0.0
    above = positive_scores[positive_scores > passing]
    threshold = (passing + above.min()) / 2 if len(above) else float(np.nextafter(passing, 1.0))
    keep = np.sort(positive_scores)[int(np.floor((1.0 - TARGET_SENSITIVITY) * len(positive_scores)))]
    return float(min(threshold, keep))


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def write_report(result: TrainingResult, directory: Path) -> list[Path]:
    """Write ``metrics.json``, ``report.md`` and the PNGs (confusion matrix of the chosen
    model, ROC and precision-recall curves of every candidate with the rule path's operating
    point) into ``directory``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    directory.mkdir(parents=True, exist_ok=True)
    figures = {name: evaluation.figures() for name, evaluation in result.held_out.items()}
    written = [directory / "metrics.json", directory / "report.md"]
    written[0].write_text(json.dumps(
        {"chosen": result.chosen, "held_out": figures, "out_of_fold": result.out_of_fold,
         "metadata": {k: v for k, v in result.metadata.items() if k != "held_out"}},
        indent=2, default=str))
    written[1].write_text(format_report(result.chosen, figures, result.metadata))

    chosen = result.held_out[result.chosen]
    confusion = figures[result.chosen]["confusion"]
    fig, ax = plt.subplots(figsize=(4.2, 3.8))
    cells = np.array([[confusion["tn"], confusion["fp"]], [confusion["fn"], confusion["tp"]]])
    ax.imshow(cells, cmap="Blues")
    for (row, col), value in np.ndenumerate(cells):
        ax.text(col, row, str(value), ha="center", va="center",
                color="white" if value > cells.max() / 2 else "black")
    ax.set_xticks([0, 1], ["no fall", "fall"])
    ax.set_yticks([0, 1], ["no fall", "fall"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{result.chosen}, held-out windows")
    fig.tight_layout()
    written.append(directory / "confusion.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    rules = figures[RULES]
    for curve in ("roc", "precision_recall"):
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        for name, evaluation in result.held_out.items():
            if evaluation.scores is None:
                continue
            if curve == "roc":
                x, y, _ = roc_curve(evaluation.truth, evaluation.scores)
            else:
                y, x, _ = precision_recall_curve(evaluation.truth, evaluation.scores)
            ax.plot(x, y, label=name + (" (chosen)" if name == result.chosen else ""))
        if curve == "roc" and rules["specificity"] is not None:
            ax.plot([1 - rules["specificity"]], [rules["sensitivity"]], "k^", label="rules")
            ax.set_xlabel("false positive rate (1 - specificity)")
            ax.set_ylabel("sensitivity")
            ax.set_xscale("symlog", linthresh=1e-3)
        elif curve == "precision_recall":
            tp, fp = rules["confusion"]["tp"], rules["confusion"]["fp"]
            if tp + fp:
                ax.plot([rules["sensitivity"]], [tp / (tp + fp)], "k^", label="rules")
            ax.set_xlabel("recall (sensitivity)")
            ax.set_ylabel("precision")
        point = figures[result.chosen]
        if curve == "roc" and point["specificity"] is not None:
            ax.plot([1 - point["specificity"]], [point["sensitivity"]], "ro",
                    label=f"{result.chosen} at threshold {chosen.threshold:.3f}")
        ax.set_title(f"{curve.replace('_', '-')} on held-out windows")
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        written.append(directory / f"{curve}.png")
        fig.savefig(written[-1], dpi=110)
        plt.close(fig)
    return written


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def format_report(chosen: str, figures: Mapping[str, Mapping[str, Any]],
                  metadata: Mapping[str, Any]) -> str:
    """The Markdown report: every method on held-out windows, hard negatives apart."""
    counts = metadata.get("held_out_counts", {})
    falls = counts.get(FALL, 0)
    hard = {variant: counts.get(variant, 0) for variant in HARD_NEGATIVES}
    ordinary = sum(counts.values()) - falls - sum(hard.values())
    lines = [
        "# Fall classifier: held-out evaluation",
        "",
        f"Chosen model: **{chosen}** (threshold {metadata['held_out'][chosen]['threshold']:.4f}, "
        f"{metadata['threshold_rule']}). Features `{metadata['feature_version']}`, "
        f"scikit-learn {metadata['sklearn_version']}.",
        "",
        f"Held-out windows: {falls} falls, {ordinary} ordinary, hard negatives "
        + ", ".join(f"{v} {n}" for v, n in hard.items()) + ".",
        f"Training: `{json.dumps(metadata['source'])}`.",
        "",
        "| method | sensitivity | specificity | specificity (ordinary) | FP | FN "
        "| false alarms / resident-day | ROC AUC | avg precision |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, fig in figures.items():
        fa = fig["false_alarms_per_day"]
        lines.append(
            f"| {name}{' (chosen)' if name == chosen else ''} | {_pct(fig['sensitivity'])} "
            f"| {_pct(fig['specificity'])} | {_pct(fig['specificity_ordinary'])} "
            f"| {fig['confusion']['fp']} | {fig['confusion']['fn']} "
            f"| {'-' if fa is None else f'{fa:.4f}'} "
            f"| {fig.get('roc_auc', float('nan')):.4f} | {fig.get('average_precision', float('nan')):.4f} |")
    lines += ["", "Hard negatives, share raised as a possible fall:", "",
              "| method | " + " | ".join(HARD_NEGATIVES) + " |",
              "|---|" + "---|" * len(HARD_NEGATIVES)]
    for name, fig in figures.items():
        rates = fig["hard_negative_alarm_rate"]
        lines.append(f"| {name} | " + " | ".join(_pct(rates[v]) for v in HARD_NEGATIVES) + " |")
    lines += ["", "False alarms per resident-day: the false-positive rate on ordinary windows "
              f"times {ORDINARY_WINDOWS_PER_DAY:.1f} windows a day (the simulator's cadence). "
              "The rules have no score, so no curve: they are one point on the ROC plot.", ""]
    return "\n".join(lines)
