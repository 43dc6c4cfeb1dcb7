"""``safehood train``: fit the fall classifier, choose it against the rules, write a report.

Fit logistic regression, gradient boosting and random forest on labelled accelerometer
windows, pick each one's threshold for high sensitivity from out-of-fold scores, keep the
best, and score every candidate and the rule path on held-out windows. Windows come from a
recording and its labels (the format of `safehood simulate`) or, without --input, from the
simulator itself, with training seeds disjoint from held-out seeds. Writes the model file
and a report directory: metrics.json, report.md (table against the rules, hard negatives
apart), confusion.png, roc.png and precision_recall.png. Use the model with the detector
setting fall.model (or replace the shipped one).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from safehood.commands._common import (
    CommandError,
    add_file_argument,
    add_progress_option,
    positive_int,
    progress_bar,
)

if TYPE_CHECKING:
    from safehood.learning.training import WindowSet

DEFAULT_TRAIN_SEEDS = 40
DEFAULT_HELD_OUT_SEEDS = 20
DEFAULT_FALLS = 10  # per seed; as many of each hard negative
DEFAULT_ORDINARY = 60  # daily windows per seed
HELD_OUT_SHARE = 0.3  # of a recording's wearables, when no held-out recording is given


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_argument_group("windows from a recording")
    add_file_argument(source, "--input", "recording (JSON Lines) with wearable windows")
    add_file_argument(source, "--labels", "the recording's labels (JSON Lines)")
    add_file_argument(source, "--held-out-input", "a second recording to evaluate on "
                      "(default: 30%% of the first one's wearables, set aside)")
    add_file_argument(source, "--held-out-labels", "the second recording's labels")
    simulated = parser.add_argument_group("windows from the simulator (without --input)")
    simulated.add_argument("--train-seeds", type=positive_int, default=DEFAULT_TRAIN_SEEDS,
                           metavar="N", help=f"training seeds (default {DEFAULT_TRAIN_SEEDS})")
    simulated.add_argument("--held-out-seeds", type=positive_int, default=DEFAULT_HELD_OUT_SEEDS,
                           metavar="N",
                           help=f"held-out seeds, after the training ones (default "
                                f"{DEFAULT_HELD_OUT_SEEDS})")
    simulated.add_argument("--falls", type=positive_int, default=DEFAULT_FALLS, metavar="N",
                           help=f"falls per seed, and as many of each hard negative (default "
                                f"{DEFAULT_FALLS})")
    simulated.add_argument("--ordinary", type=positive_int, default=DEFAULT_ORDINARY,
                           metavar="N",
                           help=f"daily-activity windows per seed (default {DEFAULT_ORDINARY})")
    parser.add_argument("--seed", type=int, default=1,
                        help="first simulator seed, and the models' random state (default 1)")
    add_file_argument(parser, "--thresholds", "detector thresholds file, for the rule baseline")
    parser.add_argument("--model", type=Path, default=Path("fall-model.joblib"), metavar="FILE",
                        help="model file to write (default fall-model.joblib)")
    parser.add_argument("--report", type=Path, default=Path("train-report"), metavar="DIR",
                        help="report directory (default train-report)")
    add_progress_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from safehood.detectors import DetectorConfig
    from safehood.learning import training

    if args.input is None and (args.labels or args.held_out_input or args.held_out_labels):
        raise CommandError("--labels and --held-out-* go with --input")
    if args.input is not None and args.labels is None:
        raise CommandError("--input needs --labels (the simulator writes labels.jsonl beside it)")
    if (args.held_out_input is None) != (args.held_out_labels is None):
        raise CommandError("give --held-out-input and --held-out-labels together")
    try:
        rule_config = (DetectorConfig.load(args.thresholds) if args.thresholds
                       else DetectorConfig()).fall
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read {args.thresholds}: {exc}") from None
    try:
        if args.input is not None:
            train_set, held_set, source = _recorded(args)
        else:
            train_set, held_set, source = _simulated(args)
    except (OSError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    for name, windows in (("training", train_set), ("held-out", held_set)):
        if not windows.is_fall.any() or windows.is_fall.all():
            raise CommandError(f"the {name} windows need both falls and non-falls "
                               f"({windows.counts() or 'no windows'})")
    steps = progress_bar(args, "train", total=2 * len(training.CANDIDATES) + 1, unit="step")
    with steps:
        def progress(step: str) -> None:
            steps.set_postfix_str(step)
            steps.update(1)

        result = training.train(train_set, held_set, seed=args.seed, rule_config=rule_config,
                                source=source, progress=progress)
    try:
        result.classifier.save(args.model)
        written = training.write_report(result, args.report)
    except OSError as exc:
        raise CommandError(f"cannot write: {exc.strerror or exc}") from None
    chosen = result.held_out[result.chosen].figures()
    rules = result.held_out[training.RULES].figures()
    print(f"chosen: {result.chosen}, threshold {result.classifier.threshold:.4f}")
    print(f"held-out windows: sensitivity {_pct(chosen['sensitivity'])}, specificity "
          f"{_pct(chosen['specificity'])} (rules: {_pct(rules['sensitivity'])}, "
          f"{_pct(rules['specificity'])})")
    print(f"model: {args.model} ({args.model.stat().st_size / 1024:.0f} KiB)")
    print(f"report: {written[1]}")
    return 0


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _simulated(args: argparse.Namespace) -> tuple[WindowSet, WindowSet, dict[str, Any]]:
    from safehood.learning import training

    train_seeds = list(range(args.seed, args.seed + args.train_seeds))
    held_seeds = list(range(train_seeds[-1] + 1, train_seeds[-1] + 1 + args.held_out_seeds))
    with progress_bar(args, "simulate", total=len(train_seeds) + len(held_seeds),
                      unit="seed") as bar:
        sizes = {"falls": args.falls, "hard_negatives": args.falls, "ordinary": args.ordinary}
        train_set = training.simulate_windows(train_seeds, **sizes, progress=bar.update)
        held_set = training.simulate_windows(held_seeds, **sizes, progress=bar.update)
    source: dict[str, Any] = {"simulator": True, "train_seeds": [train_seeds[0], train_seeds[-1]],
              "held_out_seeds": [held_seeds[0], held_seeds[-1]], "per_seed": sizes}
    return train_set, held_set, source


def _recorded(args: argparse.Namespace) -> tuple[WindowSet, WindowSet, dict[str, Any]]:
    from safehood.learning import training

    windows = training.recorded_windows(args.input, args.labels)
    source: dict[str, Any] = {"recording": str(args.input), "labels": str(args.labels)}
    if args.held_out_input is not None:
        held = training.recorded_windows(args.held_out_input, args.held_out_labels)
        source["held_out_recording"] = str(args.held_out_input)
        return windows, held, source
    groups = np.unique(windows.group)
    if len(groups) < 2:
        raise ValueError(f"{args.input} has windows of {len(groups)} wearable(s): give "
                         "--held-out-input, or a recording of more wearables")
    shuffled = np.random.default_rng(args.seed).permutation(groups)
    held_groups = shuffled[: max(1, round(HELD_OUT_SHARE * len(groups)))]
    held_rows = np.isin(windows.group, held_groups)
    source["held_out"] = f"{len(held_groups)} of {len(groups)} wearables"
    return windows.take(np.flatnonzero(~held_rows)), windows.take(np.flatnonzero(held_rows)), source
