"""linli: the app factory and the command line; it only wires.

python main.py serve          # the bot on http://HOST:PORT/wechat
python main.py chat           # talk to the bot in the terminal
python main.py parse 找裁缝    # the NLU result as JSON
python main.py train-nlu      # rebuild the NLU model from bot/nlu/data (cross-validated)
python main.py migrate        # apply database migrations
python main.py import-craftsmen list.xlsx [--pending] [--dry-run]
python main.py worker         # the push worker alone (`serve` also runs one in-process)
python main.py wecom-bot      # the WeCom intelligent bot over its long connection
python main.py --help         # every command
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from bot.nlu import cli as nlu_cli
from canteen import cli as canteen_cli
from craftsman_directory import cli as directory_cli
from delivery import cli as delivery_cli
from family import cli as family_cli
from grid import cli as grid_cli
from infra.log import setup_logging
from places import cli as places_cli
from server import cli as server_cli
from server import wecom as wecom_cli
from server.app import create_app, served_app
from settings import SettingsError, load_settings

__all__ = ["build_parser", "create_app", "main", "served_app"]

# Every command group registers its subcommands with `register(sub)`, in this order in --help.
COMMAND_MODULES: list[ModuleType] = [
    server_cli,
    directory_cli,
    places_cli,
    canteen_cli,
    delivery_cli,
    family_cli,
    grid_cli,
    nlu_cli,
    wecom_cli,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="main.py", description="linli 邻里 community bot")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.log_json)
    return int(args.func(settings, args) or 0)


if __name__ == "__main__":
    sys.exit(main())
