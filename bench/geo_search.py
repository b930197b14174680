"""Directory search over 100,000 craftsmen: the Redis GEO index against a plain database scan.

    .venv/bin/python bench/geo_search.py [--n 100000] [--queries 2000]

SQLite in a temp dir and the embedded Redis by default (as `make run`). Both searches run in
the same process over the same rows: the index path is the real `search.search` (GEOSEARCH +
card lookup + opening hours + ordering); the scan selects every approved craftsman of the
category and computes haversine distances in Python.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tortoise import Tortoise  # noqa: E402

from bot.context import SHANGHAI  # noqa: E402
from bot.nlu.labels import CATEGORIES  # noqa: E402
from craftsman_directory import geo, index, search  # noqa: E402
from infra.database import tortoise_config  # noqa: E402
from infra.redis import open_redis  # noqa: E402
from models.directory import Craftsman, Source, Status  # noqa: E402

CENTRE = (31.2304, 121.4737)
SPAN = 0.25  # degrees either side: a ~55 km square, roughly greater Shanghai
HOURS = ["24/7", "Mo-Fr 08:00-12:00,13:00-17:30; Sa 09:00-12:00", "Mo-Su 07:00-19:00", ""]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


async def scan(category: str, lat: float, lng: float, radius: float) -> list[tuple[float, int]]:
    # JSON containment differs per database; a portable scan filters the category in Python.
    rows = await Craftsman.filter(status=Status.APPROVED).values_list(
        "id", "categories", "lat", "lng"
    )
    out = []
    for cid, cats, clat, clng in rows:
        if category in cats:
            d = geo.haversine_m(lat, lng, clat, clng)
            if d <= radius:
                out.append((d, cid))
    out.sort()
    return out


async def main(n: int, queries: int, scan_queries: int) -> dict[str, float]:
    """Run the bench and print it; returns the figures (for `bench/run_all.py`)."""
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        await Tortoise.init(config=tortoise_config(f"sqlite://{tmp}/bench.sqlite3"))
        await Tortoise.generate_schemas()
        async with open_redis(None, Path(tmp)) as redis:
            t0 = time.perf_counter()
            batch = [
                Craftsman(
                    name=f"师傅{i}",
                    categories=[rng.choice(CATEGORIES)],
                    phone=f"138{i:08d}",
                    lat=CENTRE[0] + rng.uniform(-SPAN, SPAN),
                    lng=CENTRE[1] + rng.uniform(-SPAN, SPAN),
                    hours=rng.choice(HOURS),
                    status=Status.APPROVED,
                    source=Source.IMPORT,
                )
                for i in range(n)
            ]
            await Craftsman.bulk_create(batch, batch_size=5000)
            t1 = time.perf_counter()
            indexed = await index.rebuild(redis)
            t2 = time.perf_counter()
            print(f"{n} craftsmen: insert {t1 - t0:.1f}s, index rebuild {t2 - t1:.2f}s ({indexed})")
            redis_bytes = (await redis.info("memory"))["used_memory"]

            now = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
            points = [
                (
                    rng.choice(CATEGORIES),
                    CENTRE[0] + rng.uniform(-0.2, 0.2),
                    CENTRE[1] + rng.uniform(-0.2, 0.2),
                )
                for _ in range(queries)
            ]
            geo_ms, found = [], 0
            for cat, lat, lng in points:
                s = time.perf_counter()
                outcome = await search.search(redis, cat, lat, lng, now)
                geo_ms.append((time.perf_counter() - s) * 1000)
                found += len(outcome.found)
            scan_ms = []
            for cat, lat, lng in points[:scan_queries]:
                s = time.perf_counter()
                await scan(cat, lat, lng, 1200)
                scan_ms.append((time.perf_counter() - s) * 1000)
        await Tortoise.close_connections()

    g50, g99 = statistics.median(geo_ms), pct(geo_ms, 0.99)
    s50, s99 = statistics.median(scan_ms), pct(scan_ms, 0.99)
    print(
        f"redis GEO search ({queries} queries, avg {found / queries:.1f} results): "
        f"p50 {g50:.3f} ms  p99 {g99:.3f} ms"
    )
    print(f"database scan    ({scan_queries} queries): p50 {s50:.1f} ms  p99 {s99:.1f} ms")
    print(f"ratio (scan / GEO): p50 {s50 / g50:.0f}x  p99 {s99 / g99:.0f}x")
    print("p99 under 2 ms:", "yes" if g99 < 2 else "NO")
    return {
        "n": n,
        "rebuild_s": t2 - t1,
        "geo_p50_ms": g50,
        "geo_p99_ms": g99,
        "geo_qps": queries / (sum(geo_ms) / 1000),
        "scan_p50_ms": s50,
        "scan_p99_ms": s99,
        "redis_mib": redis_bytes / 2**20,
        "found_avg": found / queries,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--scan-queries", type=int, default=50, help="the scan is slow: fewer")
    a = parser.parse_args()
    asyncio.run(main(a.n, a.queries, a.scan_queries))
