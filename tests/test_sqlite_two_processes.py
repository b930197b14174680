"""The embedded SQLite file serves two processes at once (issue 11, item 12): `serve` and
`chat` on the newcomer path share it. Both write in transactions that read first (as the outbox
does with its de-duplication), interleaved; neither gets "database is locked"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WRITER = """
import asyncio, sys
from tortoise.transactions import in_transaction
from infra import database
from models.push import OutboxMessage, PushChannel
from push.outbox import enqueue
from settings import load_settings

async def main(name: str, n: int) -> None:
    async with database.open_database(load_settings(None)):
        for i in range(n):
            async with in_transaction() as conn:
                await OutboxMessage.filter(target=name).using_db(conn).count()
                await asyncio.sleep(0.001)  # the other process writes in between
                await enqueue(PushChannel.WECHAT_CS, name, {"text": str(i)},
                              dedupe_key=f"{name}:{i}", using_db=conn)
        print(name, await OutboxMessage.filter(target=name).count())

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def test_two_processes_write_one_sqlite_file_without_locking_errors(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}
    } | {"DATA_DIR": str(tmp_path / "data"), "LOG_JSON": "false"}
    migrate = subprocess.run(
        [sys.executable, "main.py", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert migrate.returncode == 0, migrate.stderr
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, name, "150"], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        for name in ("serve", "chat")
    ]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert "database is locked" not in err and p.returncode == 0, err[-2000:]
    assert [o.strip() for o, _ in outs] == ["serve 150", "chat 150"]


LOCKED_OUT = """
import asyncio, sqlite3, sys
from tortoise.exceptions import OperationalError
from tortoise.transactions import in_transaction
from infra import database
from models.users import User
from settings import load_settings

async def main(path: str) -> None:
    settings = load_settings(None, database_url=f"sqlite://{path}?busy_timeout=100")
    async with database.open_database(settings):
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            async with in_transaction() as conn:
                await User.create(openid="o-1", using_db=conn)
        except OperationalError as exc:
            print("refused:", exc)
        holder.execute("ROLLBACK")
        holder.close()
        async with in_transaction() as conn:  # the next one works (nothing left locked)
            await User.create(openid="o-2", using_db=conn)
        print("users", await User.all().values_list("openid", flat=True))

asyncio.run(asyncio.wait_for(main(sys.argv[1]), 60))
"""


def test_a_transaction_locked_out_fails_cleanly_and_the_next_one_works(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}
    } | {"DATA_DIR": str(tmp_path / "data"), "LOG_JSON": "false"}
    assert subprocess.run(
        [sys.executable, "main.py", "migrate"], cwd=ROOT, env=env, capture_output=True,
        timeout=300,
    ).returncode == 0  # fmt: skip
    path = tmp_path / "data" / "linli.sqlite3"
    out = subprocess.run(
        [sys.executable, "-c", LOCKED_OUT, str(path)], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "refused: database is locked" in out.stdout
    assert "users ['o-2']" in out.stdout
