"""The embedded SQLite database, fit for two processes (`serve` and `chat` on one file).

A Tortoise engine (`"engine": "infra.sqlite"`) that differs from Tortoise's own in two ways:
- Transactions begin IMMEDIATE: the write lock is taken up front, waiting (busy_timeout) for
  the other process. A deferred BEGIN that reads and then writes fails at once with "database
  is locked" when the other process wrote in between: SQLite cannot wait there, because the
  transaction's snapshot is already stale.
- busy_timeout set explicitly (5 s: a resident's answer has a deadline anyway, and past it a
  clear "try again" beats a longer wait), WAL (readers never wait for the writer) and
  synchronous=NORMAL (safe with WAL; a commit is not an fsync).
Write transactions must stay short: never await the network inside one.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.connection import get_connections
from tortoise.exceptions import OperationalError

BUSY_TIMEOUT_MS = 5_000
PRAGMAS: dict[str, Any] = {
    "journal_mode": "WAL",
    "busy_timeout": BUSY_TIMEOUT_MS,
    "synchronous": "NORMAL",
}


class ImmediateTransaction(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            # "database is locked" past busy_timeout: the same error a query would raise, so
            # callers (the 503 middleware, the bot's "try again") treat it alike.
            raise OperationalError(exc) from exc


class ImmediateTransactionContext(SqliteTransactionContext):
    """Tortoise's context, but a BEGIN that fails (IMMEDIATE can: the other process held the
    write lock past busy_timeout) releases the connection lock instead of keeping it forever,
    which would hang every later query of this process."""

    async def __aenter__(self) -> Any:
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            await self.connection.begin()
        except BaseException:
            self._trxlock.release()
            raise
        self.token = get_connections().set(self.connection_name, self.connection)
        return self.connection


class LinliSqliteClient(SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        for pragma, value in PRAGMAS.items():
            kwargs.setdefault(pragma, value)
        super().__init__(file_path, **kwargs)

    def _in_transaction(self) -> TransactionContext:
        return ImmediateTransactionContext(ImmediateTransaction(self), self._lock)


client_class = LinliSqliteClient
