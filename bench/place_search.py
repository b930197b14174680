"""Nearest-place search over 100,000 places beside the craftsman search over 100,000
craftsmen: same database, same Redis, same query points, one process.

    .venv/bin/python bench/place_search.py [--n 100000] [--queries 2000]

Both are the real searches: `places.search.nearest` (GEOSEARCH + cards in one script, walking
minutes, open-now state) and `craftsman_directory.search.search`. SQLite in a temp dir and the
embedded Redis, as `make run`. The figures to read are the ratio and the p99s: the machine is
shared, absolute numbers drift.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tortoise import Tortoise  # noqa: E402

from bench.geo_search import CENTRE, HOURS, SPAN, pct  # noqa: E402
from bot.context import SHANGHAI  # noqa: E402
from bot.nlu.labels import CATEGORIES  # noqa: E402
from craftsman_directory import index as craftsman_index  # noqa: E402
from craftsman_directory import search as craftsman_search  # noqa: E402
from infra.database import tortoise_config  # noqa: E402
from infra.redis import open_redis  # noqa: E402
from models.directory import Craftsman, Source, Status  # noqa: E402
from models.places import Place, PlaceSource  # noqa: E402
from places import index as place_index  # noqa: E402
from places import search as place_search  # noqa: E402
from places.kinds import IDS  # noqa: E402


async def _timed(queries: list[tuple[str, float, float]], run: object) -> tuple[list[float], int]:
    ms, found = [], 0
    for what, lat, lng in queries:
        s = time.perf_counter()
        found += await run(what, lat, lng)  # type: ignore[operator]
        ms.append((time.perf_counter() - s) * 1000)
    return ms, found


async def main(n: int, queries: int) -> dict[str, float]:
    rng = random.Random(42)
    now = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)

    def point() -> tuple[float, float]:
        return CENTRE[0] + rng.uniform(-SPAN, SPAN), CENTRE[1] + rng.uniform(-SPAN, SPAN)

    with tempfile.TemporaryDirectory() as tmp:
        await Tortoise.init(config=tortoise_config(f"sqlite://{tmp}/bench.sqlite3"))
        await Tortoise.generate_schemas()
        async with open_redis(None, Path(tmp)) as redis:
            crafts = []
            for i in range(n):
                lat, lng = point()
                crafts.append(
                    Craftsman(
                        name=f"师傅{i}",
                        categories=[rng.choice(CATEGORIES)],
                        phone=f"138{i:08d}",
                        lat=lat,
                        lng=lng,
                        hours=rng.choice(HOURS),
                        status=Status.APPROVED,
                        source=Source.IMPORT,
                    )  # fmt: skip
                )
            await Craftsman.bulk_create(crafts, batch_size=5000)
            places = []
            for i in range(n):
                lat, lng = point()
                places.append(
                    Place(
                        name=f"服务点{i}",
                        kind=rng.choice(IDS),
                        address=f"幸福路{i}号",
                        lat=lat,
                        lng=lng,
                        hours=rng.choice(HOURS),
                        phone=f"021-6{i:07d}",
                        verified=True,
                        source=PlaceSource.IMPORT,
                    )  # fmt: skip
                )
            t0 = time.perf_counter()
            await Place.bulk_create(places, batch_size=5000)
            t1 = time.perf_counter()
            await craftsman_index.rebuild(redis)
            t2 = time.perf_counter()
            indexed = await place_index.rebuild(redis)
            t3 = time.perf_counter()
            print(
                f"{n} places: insert {t1 - t0:.1f}s, index rebuild {t3 - t2:.2f}s ({indexed}); "
                f"{n} craftsmen: index rebuild {t2 - t1:.2f}s"
            )
            near = [
                (CENTRE[0] + rng.uniform(-0.2, 0.2), CENTRE[1] + rng.uniform(-0.2, 0.2))
                for _ in range(queries)
            ]
            craft_q = [(rng.choice(CATEGORIES), lat, lng) for lat, lng in near]
            place_q = [(rng.choice(IDS), lat, lng) for lat, lng in near]

            async def craftsman(cat: str, lat: float, lng: float) -> int:
                return len((await craftsman_search.search(redis, cat, lat, lng, now)).found)

            async def place(kind: str, lat: float, lng: float) -> int:
                return len((await place_search.nearest(redis, kind, lat, lng, now)).found)

            # Interleaved halves, so drift on the shared machine falls on both alike.
            half = queries // 2
            c1, cf1 = await _timed(craft_q[:half], craftsman)
            p1, pf1 = await _timed(place_q[:half], place)
            c2, cf2 = await _timed(craft_q[half:], craftsman)
            p2, pf2 = await _timed(place_q[half:], place)
        await Tortoise.close_connections()
    c_ms, p_ms = c1 + c2, p1 + p2
    c50, c99, p50, p99 = (
        statistics.median(c_ms), pct(c_ms, 0.99), statistics.median(p_ms), pct(p_ms, 0.99)
    )  # fmt: skip
    print(
        f"craftsman search ({queries} queries, avg {(cf1 + cf2) / queries:.1f} results): "
        f"p50 {c50:.3f} ms  p99 {c99:.3f} ms"
    )
    print(
        f"place search     ({queries} queries, avg {(pf1 + pf2) / queries:.1f} results): "
        f"p50 {p50:.3f} ms  p99 {p99:.3f} ms"
    )
    print(f"ratio (place / craftsman): p50 {p50 / c50:.2f}x  p99 {p99 / c99:.2f}x")
    return {
        "n": n,
        "place_rebuild_s": t3 - t2,
        "craftsman_p50_ms": c50,
        "craftsman_p99_ms": c99,
        "place_p50_ms": p50,
        "place_p99_ms": p99,
        "place_qps": len(p_ms) / (sum(p_ms) / 1000),
        "place_found_avg": (pf1 + pf2) / queries,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2000)
    a = parser.parse_args()
    asyncio.run(main(a.n, a.queries))
