"""Tortoise ORM: one config for the app, the CLI and the tests; schema through migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tortoise import Tortoise, connections

from settings import Settings

# One Tortoise app per domain, each with its own migrations package, so domains evolve
# independently. Add a domain here and run `python -m tortoise -c ... makemigrations`.
APPS: dict[str, list[str]] = {
    "core": ["models.users"],
    "push": ["models.push"],
    "canteen": ["models.canteen"],
    "directory": ["models.directory"],
    "delivery": ["models.delivery"],
    "grid": ["models.grid"],
    "places": ["models.places"],
    "groups": ["models.groups"],
    "nlu": ["models.nlu"],
    "family": ["models.family"],
    "volunteers": ["models.volunteers"],
}


def _connection(database_url: str) -> str | dict[str, Any]:
    """SQLite through infra/sqlite.py (immediate transactions, busy timeout, WAL), so `serve`
    and `chat` can share the embedded database; anything else as the URL says."""
    if not database_url.startswith("sqlite://"):
        return database_url
    from tortoise.backends.base.config_generator import expand_db_url

    db = expand_db_url(database_url)
    db["engine"] = "infra.sqlite"
    return db


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            label: {
                "models": modules,
                "migrations": f"migrations.{label}",
                "default_connection": "default",
            }
            for label, modules in APPS.items()
        },
        "use_tz": True,
        "timezone": "Asia/Shanghai",
    }


def config_for(settings: Settings) -> dict[str, Any]:
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return tortoise_config(settings.effective_database_url)


async def migrate(settings: Settings) -> None:
    """Apply every pending migration (idempotent)."""
    from tortoise.migrations.api.migrate import migrate as run_migrations

    try:
        await run_migrations(config=config_for(settings))
    finally:
        await Tortoise.close_connections()


async def pending_migrations(settings: Settings) -> list[str]:
    """Migrations not yet applied ("canteen.0002_..."); empty when the schema is current."""
    from tortoise.migrations.executor import MigrationExecutor

    async with open_database(settings):
        executor = MigrationExecutor(connections.get("default"), config_for(settings)["apps"])
        steps = await executor.plan()
    return [f"{s.migration.app_label}.{s.migration.name}" for s in steps if not s.backward]


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[None]:
    # Close through the context `init` returns: aiohttp may run a cleanup in another task than
    # its startup (the test client does), where Tortoise's context variable is not set, and an
    # unclosed aiosqlite connection keeps a non-daemon thread alive: the process never exits.
    context = await Tortoise.init(config=config_for(settings))
    try:
        yield
    finally:
        await context.close_connections()


async def ping() -> None:
    await connections.get("default").execute_query("SELECT 1")


def __getattr__(name: str) -> Any:
    # `python -m tortoise -c infra.database.TORTOISE_ORM ...` (see `main.py makemigrations`):
    # built on access, from the same settings the app uses, never at import.
    if name == "TORTOISE_ORM":
        from settings import load_settings

        return config_for(load_settings())
    raise AttributeError(name)
