"""NLU commands: train-nlu (with staff-labelled lines, adoption, rollback) and nlu-review."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from settings import Settings


def _kept(settings: Settings) -> Path:
    """Where replaced models are kept for rollback."""
    return Path(settings.data_dir) / "nlu-models"


def _labelled_in_database(settings: Settings) -> list[Any]:
    """What admins labelled in the console (models.nlu); none if the database cannot say."""
    from bot.nlu.train import Example

    async def go() -> list[Any]:
        from infra import database
        from models.nlu import NluExample

        async with database.open_database(settings):
            rows = await NluExample.all().order_by("id")
        return [Example(r.text, r.intent, r.category, r.place, f"console#{r.pk}") for r in rows]

    try:
        return asyncio.run(go())
    except Exception as exc:  # a fresh checkout without `migrate` still trains
        print(f"labelled examples in the database not read ({exc}); run migrate", file=sys.stderr)
        return []


def cmd_train_nlu(settings: Settings, args: argparse.Namespace) -> int:
    from bot.nlu.model import DEFAULT_MODEL_PATH
    from bot.nlu.train import read_labelled, rollback, train

    out = Path(args.out) if args.out else DEFAULT_MODEL_PATH
    if args.rollback:
        try:
            version = rollback(args.rollback, out, _kept(settings))
        except FileNotFoundError as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"model {version} is back in {out}")
        return 0
    extra = read_labelled(Path(p) for p in args.extra) + _labelled_in_database(settings)
    figures = train(out, extra, folds=args.folds, keep_dir=_kept(settings), force=args.force)
    print(
        f"model {figures['version']} from {figures['examples']} examples"
        f" ({len(extra)} labelled by staff)\n"
        f"{args.folds}-fold cross-validation: intent {figures['intent_acc']:.1%}, "
        f"category {figures['category_acc']:.1%}, place {figures['place_acc']:.1%}\n"
        f"asks when the best intent is below {figures['min_prob']:.2f} "
        f"or within {figures['min_margin']:.2f} of the second"
    )
    if not figures["adopted"]:
        print(
            f"NOT adopted: cross-validated {', '.join(figures['worse'])} lower than the current"
            f" model {figures['current']}'s (--force adopts it anyway)",
            file=sys.stderr,
        )
        return 1
    kept = f"; the previous one is kept in {_kept(settings)}" if figures["current"] else ""
    print(f"adopted -> {out}{kept}")
    return 0


def cmd_nlu_review(settings: Settings, args: argparse.Namespace) -> int:
    from bot.nlu_review import pending
    from infra.redis import open_redis

    async def go() -> list[dict[str, object]]:
        async with open_redis(settings.redis_url, settings.data_dir) as redis:
            return await pending(redis)

    items = asyncio.run(go())
    lines = "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    if args.out:
        Path(args.out).write_text(lines, encoding="utf-8")
        print(f"{len(items)} messages to label -> {args.out}")
    else:
        sys.stdout.write(lines)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    train = sub.add_parser(
        "train-nlu",
        help="train the NLU model from bot/nlu/data (+ staff-labelled files), cross-validated;"
        " adopted only if accuracy does not drop",
    )
    train.add_argument("--out", help="where to write the model (default: bot/nlu/model.json)")
    train.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    train.add_argument(
        "--extra", nargs="*", default=[], help="nlu-review files with `intent` filled in"
    )
    train.add_argument("--force", action="store_true", help="adopt even if accuracy drops")
    train.add_argument("--rollback", metavar="VERSION", help="put a kept model back instead")
    train.set_defaults(func=cmd_train_nlu)
    review = sub.add_parser(
        "nlu-review",
        help="write the messages the bot did not understand (scrubbed) as JSONL to label",
    )
    review.add_argument("--out", help="file to write (default: standard output)")
    review.set_defaults(func=cmd_nlu_review)
