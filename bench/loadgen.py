"""Load for the /wechat callback from a separate process: wrk with a Lua script, or a Python
(aiohttp) fallback when wrk is not installed.

Every request is a text message with a unique MsgId and a valid signature. The plaintext-mode
signature covers only (token, timestamp, nonce), so the script carries a table of pre-signed
(timestamp, nonce) pairs made just before the run (well inside the 300 s timestamp window).

Two modes: closed loop (`rate=None`: as fast as `connections` requests in flight allow) and
paced (`rate=R`: about R requests a second). wrk paces with its `delay()` hook, calibrated in a
short first run; the fallback schedules requests open-loop and times them from their scheduled
start, so a stalled server shows in the percentiles rather than slowing the load down.

    .venv/bin/python bench/loadgen.py --url http://127.0.0.1:18110/wechat --token T --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

TEXTS = ["找裁缝", "修鞋", "配钥匙", "冰箱不制冷", "水管漏水了", "附近有修自行车的吗"]


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    rate: float  # completed requests a second
    p50_ms: float
    p99_ms: float
    errors: int  # non-200 answers and socket errors
    ok: int  # 200 answers that contain the expected marker
    unexpected: int  # 200 answers without it


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed_pairs(token: str, count: int = 256) -> list[tuple[str, str, str]]:
    ts = str(int(time.time()))
    out = []
    for _ in range(count):
        nonce = str(secrets.randbelow(10**9))
        out.append((ts, nonce, sign(token, ts, nonce)))
    return out


def message_xml(user: str, text: str, msg_id: int, ts: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{ts}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


# ---- wrk -------------------------------------------------------------------------------------

LUA = r"""
local pairs_ = {PAIRS}
local texts = {TEXTS}
local users, base, marker, pause = {USERS}, {BASE}, "{MARKER}", {DELAY}
local threads = {}
counter, ok, bad, tid = 0, 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function request()
  counter = counter + 1
  local id = base + tid * 100000000 + counter
  local p = pairs_[(counter % #pairs_) + 1]
  local user = "o-bench-" .. string.format("%.0f", (tid * 7919 + counter) % users)
  local body = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA["
    .. user .. "]]></FromUserName><CreateTime>" .. p[1]
    .. "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA["
    .. texts[(counter % #texts) + 1] .. "]]></Content><MsgId>"
    .. string.format("%.0f", id) .. "</MsgId></xml>"
  local path = "{PATH}?signature=" .. p[3] .. "&timestamp=" .. p[1] .. "&nonce=" .. p[2]
  return wrk.format("POST", path, {["Content-Type"] = "text/xml"}, body)
end

function response(status, headers, body)
  if status == 200 and body:find(marker, 1, true) then ok = ok + 1 else bad = bad + 1 end
end

if pause > 0 then
  function delay() return pause end
end

function done(summary, latency, requests)
  local o, b = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    "LOADGEN %d %d %d %d %d %d %d %d\n", summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99),
    o, b))
end
"""


def _lua(url: str, token: str, users: int, base: int, marker: str, delay_ms: int) -> str:
    pairs = ",".join(f'{{"{t}","{n}","{s}"}}' for t, n, s in signed_pairs(token))
    texts = ",".join(json.dumps(t, ensure_ascii=False) for t in TEXTS)
    values = {
        "{PAIRS}": "{" + pairs + "}",
        "{TEXTS}": "{" + texts + "}",
        "{USERS}": str(users),
        "{BASE}": str(base),
        "{MARKER}": marker,
        "{DELAY}": str(delay_ms),
        "{PATH}": urlsplit(url).path,
    }
    return re.sub("|".join(re.escape(k) for k in values), lambda m: values[m.group(0)], LUA)


def _wrk_once(
    url: str,
    token: str,
    *,
    users: int,
    seconds: float,
    connections: int,
    base: int,
    marker: str,
    delay_ms: int,
) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as fh:
        fh.write(_lua(url, token, users, base, marker, delay_ms))
    try:
        root = f"{urlsplit(url).scheme}://{urlsplit(url).netloc}"
        cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", fh.name]
        out = subprocess.run(
            [*cmd, "--timeout", "10s", root], capture_output=True, text=True, check=True
        ).stdout
    finally:
        os.unlink(fh.name)
    line = next(x for x in out.splitlines() if x.startswith("LOADGEN "))
    n, dur_us, status_err, sock_err, p50, p99, ok, bad = (int(v) for v in line.split()[1:])
    secs = dur_us / 1e6
    errors, odd = status_err + sock_err, bad - status_err
    return LoadResult("wrk", n, secs, n / secs, p50 / 1000, p99 / 1000, errors, ok, odd)


def run_wrk(
    url: str,
    token: str,
    *,
    users: int,
    seconds: float,
    connections: int,
    base: int,
    marker: str,
    rate: float | None = None,
) -> LoadResult:
    kw = dict(users=users, connections=connections, marker=marker)
    if rate is None:
        return _wrk_once(url, token, seconds=seconds, base=base, delay_ms=0, **kw)  # type: ignore[arg-type]
    # Each connection sends, waits for the answer, then pauses: rate = c / (pause + latency).
    # Calibrate the pause in a short run, then measure.
    delay = max(1, round(connections * 1000 / rate))
    probe = _wrk_once(url, token, seconds=3, base=base, delay_ms=delay, **kw)  # type: ignore[arg-type]
    cycle = connections * 1000 / max(probe.rate, 1.0)  # ms per request per connection
    delay = max(1, round(delay - (cycle - connections * 1000 / rate)))
    return _wrk_once(url, token, seconds=seconds, base=base + 10**7, delay_ms=delay, **kw)  # type: ignore[arg-type]


# ---- the Python fallback ---------------------------------------------------------------------


async def _python_load(
    url: str,
    token: str,
    *,
    users: int,
    seconds: float,
    connections: int,
    base: int,
    marker: str,
    rate: float | None,
) -> LoadResult:
    import aiohttp

    pairs = signed_pairs(token)
    latencies: list[float] = []
    counts = {"ok": 0, "bad": 0, "errors": 0}
    counter = 0

    def next_request() -> tuple[str, bytes]:
        nonlocal counter
        counter += 1
        ts, nonce, sig = pairs[counter % len(pairs)]
        body = message_xml(
            f"o-bench-{counter % users}", TEXTS[counter % len(TEXTS)], base + counter, ts
        )
        return f"{url}?signature={sig}&timestamp={ts}&nonce={nonce}", body.encode()

    async def one(session: aiohttp.ClientSession, started: float) -> None:
        target, body = next_request()
        try:
            async with session.post(target, data=body) as resp:
                text = await resp.text()
                if resp.status != 200:
                    counts["errors"] += 1
                elif marker in text:
                    counts["ok"] += 1
                else:
                    counts["bad"] += 1
        except (aiohttp.ClientError, TimeoutError):
            counts["errors"] += 1
        latencies.append(time.perf_counter() - started)

    loop_started = time.perf_counter()
    deadline = loop_started + seconds
    conn = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout) as session:
        if rate is None:

            async def worker() -> None:
                while time.perf_counter() < deadline:
                    await one(session, time.perf_counter())

            await asyncio.gather(*(worker() for _ in range(connections)))
        else:
            tasks = []
            interval = 1.0 / rate
            due = loop_started
            while due < deadline:
                now = time.perf_counter()
                if due > now:
                    await asyncio.sleep(due - now)
                tasks.append(asyncio.create_task(one(session, due)))
                due += interval
            await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - loop_started
    latencies.sort()
    n = len(latencies)
    p = lambda q: latencies[min(n - 1, int(n * q))] * 1000 if n else 0.0  # noqa: E731
    errors, ok, bad = counts["errors"], counts["ok"], counts["bad"]
    return LoadResult("python", n, elapsed, n / elapsed, p(0.5), p(0.99), errors, ok, bad)


def run(
    url: str,
    token: str,
    *,
    users: int,
    seconds: float,
    connections: int,
    base: int,
    marker: str,
    rate: float | None = None,
    force_python: bool = False,
) -> LoadResult:
    """Load `url` from a separate process: wrk when installed, else this module's fallback."""
    kw = dict(users=users, seconds=seconds, connections=connections, base=base, marker=marker)
    if shutil.which("wrk") and not force_python:
        return run_wrk(url, token, rate=rate, **kw)  # type: ignore[arg-type]
    cmd = [sys.executable, str(Path(__file__).resolve()), "--url", url, "--token", token]
    cmd += ["--users", str(users), "--seconds", str(seconds), "--connections", str(connections)]
    cmd += ["--base", str(base), "--marker", marker]
    if rate is not None:
        cmd += ["--rate", str(rate)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return LoadResult(**json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--base", type=int, default=10**12)
    ap.add_argument("--marker", default="")
    ap.add_argument("--rate", type=float, default=None)
    a = ap.parse_args()
    result = asyncio.run(
        _python_load(
            a.url,
            a.token,
            users=a.users,
            seconds=a.seconds,
            connections=a.connections,
            base=a.base,
            marker=a.marker,
            rate=a.rate,
        )
    )
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
