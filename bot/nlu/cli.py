"""NLU commands: train-nlu."""

from __future__ import annotations

import argparse
from pathlib import Path

from settings import Settings


def cmd_train_nlu(settings: Settings, args: argparse.Namespace) -> int:
    from bot.nlu.model import DEFAULT_MODEL_PATH
    from bot.nlu.train import train

    out = Path(args.out) if args.out else DEFAULT_MODEL_PATH
    figures = train(out, folds=args.folds)
    print(
        f"model {figures['version']} from {figures['examples']} examples -> {out}\n"
        f"{args.folds}-fold cross-validation: intent {figures['intent_acc']:.1%}, "
        f"category {figures['category_acc']:.1%}, place {figures['place_acc']:.1%}\n"
        f"asks when the best intent is below {figures['min_prob']:.2f} "
        f"or within {figures['min_margin']:.2f} of the second"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    train = sub.add_parser(
        "train-nlu", help="train the NLU model from bot/nlu/data (cross-validated) and write it"
    )
    train.add_argument("--out", help="where to write the model (default: bot/nlu/model.json)")
    train.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    train.set_defaults(func=cmd_train_nlu)
