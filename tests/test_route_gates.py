"""Every gate a route filter declares (bot.router.gated) is a necessary condition of it: for each
filter of the app's routes and each message of a broad corpus, when the filter's gates rule the
message out (as `Router.dispatch` checks them), the filter returns False, and without reading
Redis or the database (its words were not even right). `dispatch` skips a route its gates rule
out without calling its filters: a wrong gate would lose answers (issue 18)."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tortoise import queryset

from bot.context import Context
from bot.messages import Channel, Image, Incoming, Kind, Location
from bot.router import Filter, Router
from tests.test_conversations import CONVERSATIONS

ROOT = Path(__file__).resolve().parent.parent
USER = "o-gates"

# Words the gates' tests were derived from, and the ways residents wrap them (filler before,
# particles and punctuation after, spaces inside): each as typed.
EDGES = [
    "办结 3", "办结3 灯已换好", "3号办完了", "第三条处理好了", "#13 办完了", "＃二 办好了", "办结",
    "嗯 那个 办结 3 灯换好了", "13号已经处理完了吧", "今天我去不了了", "今天俺去不成了 腰疼",
    "今天去不了，家里有事", "请假", "我又能去了", "去得了了", "不用换人了", "不请假了", "我来送",
    "好的，我来！", "接 12", "我接了", "交给我吧", "我来接第3号", "3 送到了", "一号送到了",
    "1、2号没人", "三、五号没人", "1 2 3 都送到了", "2号不在家", "4 出去了",
    "发布菜单\n午餐：红烧肉", "  发布菜单：明天午餐 红烧肉 青菜", "菜单：红烧肉", "更新 菜谱:青菜",
    "复制上周菜单", "明天午餐照上周二的", "上周的菜单再发一遍", "用上个礼拜的菜单",
    "#接龙\n1. 张三 2份", "明天午餐接龙\n1 张三\n2 李四", "生成接龙 发到群", "生成接龙",
    "绑定本群 1-5号楼", "谢谢", "谢谢你啊闺女", "BYE", "Bye", "拜拜", "再见了", "你是谁",
    "你是机器人吗", "有人吗", "人呢", "喂", "喂喂喂", "你真棒", "不错", "嗯 谢谢", "好的，谢啦",
    "辛苦了", "麻烦你了", "晚安", "先这样", "下次聊", "算了", "嗯 算了吧", "不找了", "回头再说",
    "算了 等俺问问她再说", "不 要 了", "取消", "退出", "没事了", "我考虑一下", "我 再 想想",
    "不想订了", "转人工", "我要找真人", "社区电话", "联系社区", "有没有人工", "我要跟人说话",
    "找个人帮我", "给我社区电话", "你是机器人吧 我要找真人", "投诉", "我要 投 诉",
    "在吗，我要投诉一下", "补贴 3号楼2单元401 80岁以上", "本月补贴", "我的补贴",
    "老人吃饭有补贴吗", "改裤脚15元 换拉链20元", "价格改一下", "价格", "改裤脚 15 块",
    "换拉链20.5元", "解绑", "解除家人", "不想绑了", "不绑了", "取消家人绑定", "继续", "接着报名",
    "1", "２", "第一个", "前面那个", "后面那个", "张师傅几点关门", "第二个电话多少", "他能上门吗",
    "哪个最近", "3", "第三个", "我要投诉张师傅", "李阿姨手艺真好", "那个张师傅乱收费", "几点开门",
    "第一个几点关门", "仁心电话", "地址在哪", "今天送哪几家", "明天多少份", "今天谁订了饭",
    "我的积分", "俺攒了多少积分", "积分榜", "去年谁积分最高", "售罄 午餐", "明天午餐没卖完",
    "今天送餐情况", "送完了吗", "全部取消", "取消全部送餐", "休息到下周一", "歇三天", "我的数据",
    "本月被找了几次", "绑定家人 13800000000", "帮我绑定我妈 138 0000 0000", "我绑了谁", "我的待办",
    "俺手上有几件没办", "我反映的事怎么样了", "楼道灯修好了没", "我是快递员想当志愿者",
    "注册志愿者", "随手拍", "多少钱", "几点开饭", "", " ", "。", "啊", "了", "嗯", "？", "…",
    "嗯，那个，就是说", "喂？", "在不在",
]  # fmt: skip
WRAPS = ["嗯，{}", "那个 {}", "就是说 {}", "{}了", "{}吧", "{}。", " {} ", "。{}", "{}？", "{}呀~"]


def _lines() -> list[str]:
    """What people say in tests/conversations (commands such as /loc left out)."""
    return [
        turn.text for conv in CONVERSATIONS for turn in conv.turns if not turn.text.startswith("/")
    ]


def _labelled() -> list[str]:
    out = []
    for path in (
        ROOT.parent / "shared" / "eval" / "dev_queries.jsonl",
        *sorted((ROOT / "tests" / "data").glob("*.jsonl")),
    ):
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    out.append(json.loads(line)["text"])
    return out


def texts() -> list[str]:
    # Imported here, not at collection: with bench.realistic imported before it runs, the API
    # fuzzing (tests/test_api_fuzz.py) finds an unknown query key accepted on GET /api/canteens
    # and /api/me/signups (ST201), already so at 54a2587 with only that import added.
    from bench.realistic import corpus, make_plan

    plain = [t for v in corpus().values() for t in v] + make_plan(2000).texts
    wrapped = [w.format(t) for t in EDGES + _lines() + _labelled() for w in WRAPS]
    return list(dict.fromkeys(EDGES + _lines() + _labelled() + plain + wrapped))


def messages() -> Iterator[Incoming]:
    for text in texts():
        yield Incoming.of_text(USER, text)
    for text in ["", " ", "嗯", "算了", "转人工", "3 送到了"]:
        yield Incoming(USER, Kind.TEXT, text=text, voice=True)
    for text in ["生成接龙", "绑定本群 1-5号楼", "#接龙\n1. 张三 2份", "谢谢", "找裁缝"]:
        yield Incoming(USER, Kind.TEXT, Channel.WECOM, text=text, chat="wr-group", mentioned=True)
    for where in [Location(31.2304, 121.4737, "幸福小区"), Location(float("nan"), 0.0)]:
        yield Incoming(USER, Kind.LOCATION, location=where, text="办结 3")
    yield Incoming(USER, Kind.IMAGE, image=Image("http://mmbiz/x.jpg", "m1"))
    yield Incoming(USER, Kind.IMAGE, text="转人工")
    for name, key in [("subscribe", ""), ("unsubscribe", ""), ("location", ""), ("view", "")]:
        yield Incoming(USER, Kind.EVENT, event=name, event_key=key)
    for key in ["FIND_CRAFTSMAN", "MENU_TODAY", "HELP", "DELIVERY_STATUS", "NOPE"]:
        yield Incoming(USER, Kind.EVENT, event="click", event_key=key)
    yield Incoming(USER, Kind.MEDIA, text="谢谢")
    yield Incoming(USER, Kind.UNKNOWN)


class _Watched:
    """A message's StateView that notes any use."""

    def __init__(self, view: Any) -> None:
        self._view = view
        self.used: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.used.append(name)
        return getattr(self._view, name)


def _named(f: Any) -> str:
    f = getattr(f, "__func__", f)
    return f"{f.__module__}:{f.__code__.co_firstlineno} {f.__qualname__}"


async def _never(ctx: Context) -> None:
    raise AssertionError("the probe's filter never passes")


def _probe(filters: tuple[Filter, ...], tried: list[bool]) -> Router:
    """A router of one route: `filters`' gates (dispatch checks them as for the app's routes),
    and a first filter that notes it was reached and fails."""

    def reached(ctx: Context) -> bool:
        tried[0] = True
        return False

    marks = [reached]
    for f in filters:
        gates = getattr(f, "gates", None)
        if gates is not None:

            def mark(ctx: Context) -> bool:
                return False

            mark.gates = gates  # type: ignore[attr-defined]
            marks.append(mark)
    router = Router("gates-probe")
    router.message(*marks)(_never)
    return router


async def test_every_gate_is_a_necessary_condition(
    bot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    routes = bot.router._in_order().routes
    # Each filter object once (the routes of `words`, `intent`, ... have one lambda each).
    gated: dict[int, Filter] = {}
    for filters, _ in routes:
        for f in filters:
            if getattr(f, "gates", None) is not None:
                gated.setdefault(id(f), f)
    # Every filter that reads the words first declares gates (kept so by this list: a new
    # filter meets it). The others read state first, or sit behind a gated filter.
    ungated = [
        f"{f.__module__}.{f.__qualname__}"
        for filters, _ in routes
        for f in filters[:1]
        if getattr(f, "gates", None) is None
    ]
    assert sorted(set(ungated)) == [
        "bot.fallback.<lambda>",  # lambda ctx: True, the last route
        "bot.forms.has_active",  # a form in progress takes any message
        "grid.router._photos_for_emergency",  # photos kept, whatever the message
    ], ungated
    assert ungated.count("bot.fallback.<lambda>") == 1
    tried = [False]
    own = {key: _probe((f,), tried) for key, f in gated.items()}
    whole = [(_probe(filters, tried), filters) for filters, _ in routes if filters]

    touched = [False]
    choose = queryset._ChooseDBMixin._choose_db_if_not_chosen

    def noting(self: Any, for_write: bool = False) -> None:
        touched[0] = True
        choose(self, for_write)

    monkeypatch.setattr(queryset._ChooseDBMixin, "_choose_db_if_not_chosen", noting)

    failures: list[str] = []
    ruled_out = checked = 0
    for msg in messages():
        ctx = Context(msg, bot.services)
        await ctx.prefetch()
        try:
            watched = _Watched(ctx._view)
            ctx._view = watched  # type: ignore[assignment]
            out: set[int] = set()
            for key, probe in own.items():
                tried[0] = False
                assert await probe.dispatch(ctx) is None
                if tried[0]:
                    continue
                out.add(key)
                ruled_out += 1
                touched[0] = False
                watched.used.clear()
                ok = gated[key](ctx)
                if inspect.isawaitable(ok):
                    ok = await ok
                if ok or touched[0] or watched.used:
                    failures.append(
                        f"{_named(gated[key])}: {msg.kind.value} {msg.text!r} -> {ok!r}"
                        f" (database: {touched[0]}, redis: {watched.used})"
                    )
            # A route its gates rule out has a filter whose own gates rule it out (which then
            # fails, above): the route could not have passed.
            for probe, filters in whole:
                tried[0] = False
                assert await probe.dispatch(ctx) is None
                if tried[0]:
                    continue
                checked += 1
                if not any(id(f) in out for f in filters):
                    failures.append(f"route {[_named(f) for f in filters]}: {msg.text!r}")
        finally:
            await ctx.give_back_turn()
    assert not failures, "\n".join(failures[:40])
    assert len(gated) >= 60 and ruled_out > 100_000 and checked > 100_000
