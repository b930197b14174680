"""Chat flows of the directory: find a craftsman, register as one, review, complain, admin.

Phrases (also in HELP):
  residents  找裁缝 / 冰箱不制冷 · 更多 · 评价 序号 5 很好 · 投诉 序号 原因 · 我走得慢 / 正常速度
  craftsmen  师傅登记 · 暂停接单 · 恢复接单
  admins     审核 · 通过 N · 拒绝 N · 恢复 N · 成立 投诉号 · 不成立 投诉号
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from bot import clarify, forms
from bot.context import PREFETCH, Context
from bot.forms import Form, Invalid, Step
from bot.messages import Kind
from bot.nearby import ASK_LOCATION, NearbySearch
from bot.nlu.slots import extract_dates
from bot.router import HandlerResult, Router, gate, gated, intent, said, words
from community import geo, hours
from community.numerals import cn_number
from community.roles import is_admin
from craftsman_directory import search, service
from craftsman_directory.service import DirectoryError, Registration, category_name
from infra import keys
from models.directory import Craftsman, Status

# Prefetched by conversation (see Context.conv): the pace key is per person, so in a group it
# is read from Redis when needed instead. Every search clears both numbered questions (ours and
# bot.clarify's): prefetched, an absent one costs no round trip.
PREFETCH.extend(
    [
        keys.elderly,
        lambda conv: keys.scratch(conv, "dir_clarify"),
        lambda conv: keys.scratch(conv, clarify.SCRATCH),
    ]
)

router = Router("directory")

SEARCH_ACTION = "directory.search"
CLARIFY_TTL = 10 * 60

ASK_CATEGORY = "您要找哪一类师傅？比如裁缝、修鞋、配钥匙、家电维修、水电维修。"
HELP = (
    "师傅目录：说“找裁缝”或“冰箱不制冷”；结果里回复“更多”翻页，“评价 1 5 很好”评价，"
    "“投诉 1 原因”投诉。走路慢的话说“我走得慢”，步行时间按老人步速算。"
    "师傅本人说“师傅登记”，“暂停接单”/“恢复接单”；“我的信息”看登记，"
    "直接说“营业时间改成每天8点到18点”“周日休息”“改裤脚15元”“我现在也修拉链”“摊位搬到幸福小区”"
    "就能改；“我的评价”看评价，“回复评价 1 谢谢您”回复。"
)
ADMIN_HELP = (
    "管理：“审核”看待审核，“通过 N”“拒绝 N”，“恢复 N”恢复停用的师傅，“成立 N”“不成立 N”处理投诉。"
)


def matches(pattern: str) -> Any:
    compiled = re.compile(pattern)
    return gated(
        lambda ctx: ctx.msg.kind is Kind.TEXT and compiled.fullmatch(said(ctx)) is not None,
        kinds=[Kind.TEXT],
        test=compiled.fullmatch,
    )


async def _admin(ctx: Context) -> bool:
    return await is_admin(ctx.user)


# ---- searching -------------------------------------------------------------------------------


async def _answer(ctx: Context, category: str, lat: float, lng: float) -> str:
    if not geo.on_map(lat, lng):  # the GEO index cannot search there (near the poles)
        return "这个位置不在地图范围内，请重新发送您的位置。"
    elderly = await service.walks_slowly(ctx.redis, ctx.user)
    outcome = await search.search(ctx.redis, category, lat, lng, ctx.now(), elderly)
    head = search.header(outcome, elderly)
    if not outcome.found:
        await ctx.redis.delete(keys.scratch(ctx.conv, "dir_results"))
        return head + "换个行当试试，或回复“帮助”。"
    # Numbers mean one thing at a time: from now on a bare "1" is this list's, not the answer
    # to an older numbered question.
    # (One DEL for both: the directory's "找A还是B" and bot.clarify's "您是想" questions.)
    await ctx.redis.delete(
        keys.scratch(ctx.conv, "dir_clarify"), keys.scratch(ctx.conv, clarify.SCRATCH)
    )
    search.tally(ctx.state, outcome, ctx.now())
    return search.remember(ctx.state, ctx.conv, outcome, head)


# The location it needs: the last one sent, the resident's compound, or the question.
nearby = NearbySearch(router, SEARCH_ACTION, "category", _answer, service.compound_location)
find = nearby.find


# A question or a sentence ("我家人绑定了吗", "不想绑了") is no compound's name.
_NOT_A_PLACE = re.compile(r"[吗呢谁啥么怎？?]|了$|不想|没有|为什么")


@gate(kinds=[Kind.TEXT], intents=["unknown"])
async def _waiting_and_unclear(ctx: Context) -> bool:
    return (
        ctx.msg.kind is Kind.TEXT
        and ctx.nlu.intent == "unknown"
        and not _NOT_A_PLACE.search(ctx.msg.text.strip(" 。.!！~～，,"))
        and await nearby.waiting(ctx) is not None
    )


@router.message(_waiting_and_unclear)
async def unknown_compound(ctx: Context) -> HandlerResult:
    """Typed text while waiting for a location that is no compound we know."""
    return f"没找到“{said(ctx)[:20]}”这个小区。{ASK_LOCATION}"


async def _has_results(ctx: Context) -> bool:
    return bool(await ctx.redis.exists(keys.scratch(ctx.conv, "dir_results")))


@router.message(words("更多", "下一页", "还有吗", "还有"), _has_results)
async def more(ctx: Context) -> HandlerResult:
    """ "更多": the next page of the last search."""
    return await search.page(ctx.redis, ctx.conv, advance=True)


async def _clarify_options(ctx: Context) -> list[str] | None:
    raw = await ctx.redis.get(keys.scratch(ctx.conv, "dir_clarify"))
    return json.loads(raw) if raw else None


def _chosen(text: str, options: list[str]) -> str | None:
    if text in {"1", "2", "一", "二", "第一个", "第二个"}:
        return options[0 if text in {"1", "一", "第一个"} else 1]
    try:
        cats = service.parse_categories(text)
    except DirectoryError:
        return None
    return next((c for c in cats if c in options), None)


@gate(kinds=[Kind.TEXT])
async def _answers_clarify(ctx: Context) -> bool:
    if ctx.msg.kind is not Kind.TEXT:
        return False
    options = await _clarify_options(ctx)
    return options is not None and _chosen(said(ctx), options) is not None


@router.message(_answers_clarify)
async def clarified(ctx: Context) -> HandlerResult:
    """The answer to "您是要找A还是B？"."""
    options = await _clarify_options(ctx)
    assert options is not None
    category = _chosen(said(ctx), options)
    assert category is not None
    await ctx.redis.delete(keys.scratch(ctx.conv, "dir_clarify"))
    return await find(ctx, category)


# A resident's own walking pace ("我走得慢" is about them, "表走得慢" about a watch).
SLOW_PACE = re.compile(
    r"(我|俺)?(年纪大了[，,]?)?(腿脚不好|腿脚不便|腿脚不方便|走路慢|走路不方便)"
    r"|(我|俺)(年纪大了[，,]?)?(走得慢|走不快)"  # a bare "走得慢" may be a watch
    r"|按老人的?(步速|速度)算?"
)
NORMAL_PACE = re.compile(r"(我|俺)(走得快|走路正常|走路不慢)|按?正常(步速|速度)算?")


@router.message(matches(SLOW_PACE.pattern))
async def slow_pace(ctx: Context) -> HandlerResult:
    """Searches reckon with an elderly pace from now on (User.elderly)."""
    await service.set_walking_pace(ctx.redis, ctx.user, elderly=True)
    return (
        f"好的，以后按每分钟{geo.ELDERLY_WALK_M_PER_MIN:.0f}米帮您算步行时间，"
        f"只找15分钟走得到的师傅（约{geo.walk_radius_m(True):.0f}米内）。"
        "想改回来，回复“正常速度”。"
    )


@router.message(matches(NORMAL_PACE.pattern))
async def normal_pace(ctx: Context) -> HandlerResult:
    await service.set_walking_pace(ctx.redis, ctx.user, elderly=False)
    return f"好的，以后按每分钟{geo.WALK_M_PER_MIN:.0f}米算步行时间。"


@router.message(intent("find_craftsman"))
async def find_craftsman(ctx: Context) -> HandlerResult:
    """ "找裁缝", "冰箱不制冷": search, or ask one question when the trade is ambiguous."""
    nlu = ctx.nlu
    if len(nlu.clarify) >= 2:
        a, b = nlu.clarify[:2]
        await ctx.redis.set(
            keys.scratch(ctx.conv, "dir_clarify"), json.dumps([a, b]), ex=CLARIFY_TTL
        )
        return f"您是要找{category_name(a)}还是{category_name(b)}？回复1或2。"
    if not nlu.category:
        return ASK_CATEGORY
    return await find(ctx, nlu.category)


# ---- reviews and complaints ------------------------------------------------------------------

REVIEW = re.compile(r"评价\s*(\d+)\s*([1-5])\s*[星分]?\s*(.*)")
COMPLAIN = re.compile(r"投诉\s*(\d+)\s*(.+)")


@router.message(matches(REVIEW.pattern))
async def review(ctx: Context) -> HandlerResult:
    """ "评价 2 5 很好": stars for number 2 of the resident's last result list."""
    m = REVIEW.fullmatch(said(ctx))
    assert m is not None
    cid = await search.result_id(ctx.redis, ctx.conv, int(m.group(1)))
    if cid is None:
        return "请先找师傅，再按结果里的序号评价，如“评价 1 5 很好”。"
    try:
        craftsman = await service.review(
            ctx.redis, cid, ctx.user, int(m.group(2)), m.group(3).strip()
        )
    except DirectoryError as exc:
        return str(exc)
    score = f"{craftsman.rating_avg:.1f}分（{craftsman.rating_count}人评价）"
    return f"谢谢评价！{craftsman.name}现在{score}。"


@router.message(matches(COMPLAIN.pattern))
async def complain(ctx: Context) -> HandlerResult:
    """ "投诉 2 收费太高": a complaint about number 2 of the last result list."""
    m = COMPLAIN.fullmatch(said(ctx))
    assert m is not None
    cid = await search.result_id(ctx.redis, ctx.conv, int(m.group(1)))
    if cid is None:
        return "请先找师傅，再按结果里的序号投诉，如“投诉 1 收费太高”。"
    try:
        await service.complain(ctx.services.notify, cid, ctx.user, m.group(2).strip())
    except DirectoryError as exc:
        return str(exc)
    return "收到您的投诉，社区会核实处理。"


# ---- craftsmen managing their own entry ------------------------------------------------------


# "休息到下周一", "暂停接单到12月5日", "下礼拜三之前不接活", "歇三天": hidden until that day, back
# by itself.
_STOP = r"(?:暂停接单|暂停|休息|歇业|歇|不接单|不接活|不干活|不出摊|停止接单|停业|放假)"
_PAUSE_UNTIL = re.compile(
    rf"^(?:我|俺)?(?:这周|这几天|最近|家里有事)?(?:要|想)?{_STOP}(?:一下)?(?:到|至|直到)(.{{1,12}}?)"
    r"(?:为止|再接单?|再接活|再说|回来|恢复)?$"
    rf"|^(.{{1,12}}?)(?:之前|以前|前)(?:我|俺)?(?:都)?{_STOP}了?$"
    # "歇三天", "休息两天", "我要休息3天": from today, back on the day after the last
    rf"|^(?:我|俺)?(?:要|想|得)?{_STOP}(?P<days>\d{{1,2}}|[一两二三四五六七八九十]{{1,3}})天$"
)


@router.message(
    gated(
        lambda ctx: bool(_PAUSE_UNTIL.match(said(ctx))), kinds=[Kind.TEXT], test=_PAUSE_UNTIL.match
    ),
    anywhere=True,
)
async def pause_until(ctx: Context) -> HandlerResult:
    """休息到下周一: hidden from searches until that day; searches show them again from it."""
    m = _PAUSE_UNTIL.match(said(ctx))
    assert m is not None
    today = ctx.now().date()
    if m.group("days"):
        days = cn_number(m.group("days"))
        found = (today + dt.timedelta(days=days)).isoformat() if days else None
    else:
        found = extract_dates(m.group(1) or m.group(2), today).get("date")
    if not found:
        return "休息到哪天？比如“休息到下周一”或“暂停接单到12月5日”。"
    until = dt.date.fromisoformat(found)
    try:
        await service.pause_own(ctx.redis, ctx.user, True, until=until, today=today)
    except DirectoryError as exc:
        return str(exc)
    weekday = "一二三四五六日"[until.weekday()]
    return (
        f"好的，{until.month}月{until.day}日（周{weekday}）之前居民搜不到您，那天起自动恢复。"
        "想提前回来就说“恢复接单”。"
    )


_MY_STATS = re.compile(
    r"^(?:我的|俺的|本月的?|这个月的?)?(?:数据|统计)$"
    r"|^(?:我|俺)?(?:本月|这个月|这月)?(?:被找了|被搜到|被找到|被搜了|有多少人找我|有几个人找我|"
    r"有多少人找俺|有几个人找俺|有几个人找过我)(?:几次|多少次|几回|多少回|几趟)?$"
)


@router.message(
    gated(lambda ctx: bool(_MY_STATS.match(said(ctx))), kinds=[Kind.TEXT], test=_MY_STATS.match),
    anywhere=True,
)
async def my_stats(ctx: Context) -> HandlerResult:
    """我的数据 / 本月被找了几次: a craftsman's month so far."""
    try:
        stats = await service.month_stats(ctx.services.redis, ctx.user, ctx.now())
    except DirectoryError as exc:
        return str(exc)
    return service.month_stats_text(stats)


@router.message(words("暂停接单", "恢复接单"), anywhere=True)
async def pause_own(ctx: Context) -> HandlerResult:
    """A craftsman hides or shows their own entry."""
    pause = said(ctx) == "暂停接单"
    try:
        await service.pause_own(ctx.redis, ctx.user, pause, today=ctx.now().date())
    except DirectoryError as exc:
        return str(exc)
    return "已暂停，居民暂时搜不到您。说“恢复接单”恢复。" if pause else "已恢复接单。"


# ---- admins ----------------------------------------------------------------------------------

ADMIN_ACTION = re.compile(r"(通过|拒绝|恢复)\s*#?(\d+)")
COMPLAINT_DECISION = re.compile(r"(成立|不成立)\s*#?(\d+)")


@router.message(words("审核", "待审核"), _admin)
async def pending_list(ctx: Context) -> HandlerResult:
    """An admin's "审核": the registrations waiting for approval."""
    rows = await Craftsman.filter(status=Status.PENDING).order_by("id").limit(10)
    changes = await service.waiting_changes(10)
    if not rows and not changes:
        return "没有待审核的师傅。" + ADMIN_HELP
    lines = ["待审核的师傅："] + [
        f"#{c.id} {c.name}（{'、'.join(category_name(x) for x in c.categories)}）{c.phone} "
        f"{c.address[:30]}：{c.description[:40]}"
        for c in rows
    ]
    lines += [
        f"#{x.craftsman.id} {x.craftsman.name} 申请{service.FIELD_ZH[x.field]}改为{x.new[:40]}"
        for x in changes
    ]
    lines.append("回复“通过 N”或“拒绝 N”（N是#后的编号）。")
    return search.fit(lines)


@router.message(matches(ADMIN_ACTION.pattern), _admin)
async def admin_action(ctx: Context) -> HandlerResult:
    """ "通过 N" / "拒绝 N" / "恢复 N" by an admin."""
    m = ADMIN_ACTION.fullmatch(said(ctx))
    assert m is not None
    verb, cid = m.group(1), int(m.group(2))
    action = {"通过": service.approve, "拒绝": service.reject, "恢复": service.reinstate}[verb]
    try:
        craftsman = await action(ctx.redis, ctx.services.notify, cid)
    except DirectoryError as exc:
        return str(exc)
    return f"已{verb}：#{cid} {craftsman.name}。"


@router.message(matches(COMPLAINT_DECISION.pattern), _admin)
async def complaint_decision(ctx: Context) -> HandlerResult:
    """ "成立 N" / "不成立 N": an admin's decision on complaint N."""
    m = COMPLAINT_DECISION.fullmatch(said(ctx))
    assert m is not None
    upheld = m.group(1) == "成立"
    try:
        complaint, suspended = await service.decide_complaint(
            ctx.redis, ctx.services.notify, int(m.group(2)), upheld
        )
    except DirectoryError as exc:
        return str(exc)
    text = f"投诉#{complaint.id}已记为{'成立' if upheld else '不成立'}。"
    if suspended:
        n, cid = service.UPHELD_TO_SUSPEND, complaint.craftsman.id
        text += f"该师傅已有{n}次投诉成立，已停用；“恢复 {cid}”可恢复。"
    return text


@router.message(words("目录帮助", "师傅帮助", "找师傅帮助"))
async def help_(ctx: Context) -> HandlerResult:
    return HELP + ("\n" + ADMIN_HELP if await _admin(ctx) else "")


# ---- registration form -----------------------------------------------------------------------


async def _name(ctx: Context, data: forms.Data) -> str:
    value = await forms.text_step(1, 20, "称呼")(ctx, data)
    try:
        return service.check_name(value)
    except DirectoryError as exc:
        raise Invalid(f"{exc}。") from exc


async def _trades(ctx: Context, data: forms.Data) -> list[str]:
    if ctx.msg.kind is not Kind.TEXT:
        raise Invalid("请用文字写您做的行当。")
    try:
        return service.parse_categories(ctx.msg.text)
    except DirectoryError as exc:
        names = "、".join(service.NAMES_ZH.values())
        raise Invalid(f"{exc}。目前有：{names}。") from exc


async def _where(ctx: Context, data: forms.Data) -> dict[str, Any]:
    if ctx.msg.kind is Kind.LOCATION and ctx.msg.location is not None:
        loc = ctx.msg.location
        label = loc.label or f"{loc.lat:.5f},{loc.lng:.5f}"
        return {
            "lat": loc.lat,
            "lng": loc.lng,
            "address": label,
            "compound": service.guess_compound(label),
        }
    if ctx.msg.kind is Kind.TEXT and ctx.msg.text.strip():
        found = await service.compound_location(ctx.msg.text)
        if found is not None:
            name, lat, lng = found
            return {"lat": lat, "lng": lng, "address": ctx.msg.text.strip()[:200], "compound": name}
    # Without a map service we cannot place an arbitrary address; a location message is exact.
    raise Invalid("没找到这个地址。请发送位置（点“+”→位置），居民才能按距离找到您。")


async def _hours(ctx: Context, data: forms.Data) -> str:
    if ctx.msg.kind is not Kind.TEXT:
        raise Invalid("请用文字写营业时间。")
    try:
        return hours.parse(ctx.msg.text).text
    except hours.HoursError as exc:
        raise Invalid(f"营业时间没看懂：{exc}。") from exc


async def _phone(ctx: Context, data: forms.Data) -> str:
    if ctx.msg.kind is not Kind.TEXT:
        raise Invalid("请用文字写电话号码。")
    try:
        return service.normalise_phone(ctx.msg.text)
    except DirectoryError as exc:
        raise Invalid(str(exc) + "。") from exc


_confirm = forms.confirm_step("请回复“确认”提交，或“修改”重新填写。")


def _summary(data: forms.Data) -> str:
    return (
        "请核对：\n"
        f"称呼：{data['name']}\n行当：{'、'.join(category_name(c) for c in data['trades'])}\n"
        f"服务：{data['description']}\n地址：{data['where']['address']}\n"
        f"营业时间：{hours.in_words(data['hours'])}\n电话：{data['phone']}\n"
        "没问题回复“确认”，要改回复“修改”。"
    )


async def _register(ctx: Context, data: forms.Data) -> HandlerResult:
    if not data["confirm"]:
        return await forms.start(ctx, REGISTER_FORM, intro="好的，我们重新填一遍。")
    where = data["where"]
    reg = Registration(
        name=data["name"],
        categories=data["trades"],
        description=data["description"],
        lat=where["lat"],
        lng=where["lng"],
        address=where["address"],
        compound=where["compound"],
        hours=data["hours"],
        phone=data["phone"],
    )
    craftsman, created = await service.register(ctx.redis, ctx.services.notify, ctx.user, reg)
    if created:
        return f"登记好了（编号{craftsman.id}）。社区审核通过后居民就能找到您，会通知您。"
    return f"您的登记信息已更新（编号{craftsman.id}）。"


REGISTER_FORM = Form(
    name="directory.register",
    title="师傅登记",
    steps=[
        Step("name", "请问怎么称呼您？（如：王师傅）", _name, label="称呼", names=r"称呼|名字|叫"),
        Step(
            "trades", "您做哪一行？可以写多个，用顿号隔开，如：裁缝、修鞋", _trades,
            label="行当", names=r"行当|行业|哪一行|手艺",
            show=lambda v: "、".join(category_name(c) for c in v),
            accepts=frozenset({"find_craftsman"}),
        ),
        Step(
            "description",
            "简单说说您能做什么（如：改裤脚、换拉链，可上门）",
            forms.text_step(2, 200, "介绍"),
            label="服务", names=r"介绍|服务", free=True, accepts=frozenset({"find_craftsman"}),
        ),
        Step(
            "where", "您在哪里？请发送位置（点“+”→位置），或打小区名", _where,
            label="地址", names=r"地址|位置|小区", show=lambda v: v["address"],
        ),
        Step(
            "hours",
            "几点营业？如“每天8:00-18:00”或“周一至周五 8:00-12:00,13:00-17:30；周六 9:00-12:00”",
            _hours,
            label="营业时间", names=r"营业时间|几点|时间", show=hours.in_words,
            accepts=frozenset({"hours"}),
        ),
        Step(
            "phone", "居民怎么联系您？请写手机或座机号码", _phone,
            label="电话", names=r"电话|手机|号码",
        ),
        Step("confirm", _summary, _confirm),
    ],  # fmt: skip
    on_done=_register,
    own_intents=frozenset({"craftsman_register"}),
)


@router.message(intent("craftsman_register"))
async def register(ctx: Context) -> HandlerResult:
    """ "我会修鞋，想登记": start (or restart) the registration form."""
    existing = await Craftsman.get_or_none(openid=ctx.user)
    intro = (
        "您已经登记过，重新填写会更新原来的信息。"
        if existing
        else "欢迎登记为社区师傅！随时回复“取消”退出，“上一步”返回。"
    )
    return await forms.start(ctx, REGISTER_FORM, intro=intro)


# ---- craftsmen changing their own listing and answering reviews ------------------------------
#
# A router of its own, tried early (server/lifecycle.feature_routers): "我现在也修拉链" or
# "周日休息" would otherwise be read as a search or small talk. Each route matches the words
# first and only then asks whether the sender is a craftsman (one query, only for these words):
# a resident saying "营业时间改成..." gets the normal answer.

own = Router("directory.own")
MOVE_ACTION = "directory.move"
ASK_MOVE = "新摊位在哪里？请发送位置（点“+”→位置），或打小区名。"

_VERB = "修|做|接|改|换|配|磨|开|理|收|补|洗|装|通"
_HOURS = re.compile(
    r"(?:我的?)?(?:营业时间|营业|上班时间|开门时间|出摊时间|时间)"
    r"(?:改成|改为|改到|换成|调成|调整为|变成|改)[:：]?(.*)"
)
_HOURS_BEFORE = re.compile(r"(?:以后|现在)?(?:改成|改为)(.+?)(?:营业|开门|出摊)")
_DAY = r"(?:周|星期|礼拜)[一二三四五六日天]"
_CLOSED = re.compile(  # a day run is tried from its start only (linear on 周一周一周一...)
    rf"(?<![一二三四五六日天])(?:以后|每周|每个)?({_DAY}(?:[、和,，]?{_DAY})*)(?:都)?(?:休息|不营业|不开门|不出摊)"
)
_PRICES_HEAD = re.compile(
    r"^(?:价格|价钱|收费|价目)(?:改成|改为|调整为|调成|改一下|调一下|改|调)?(?:一下)?[:：]?"
)
# "我现在也修拉链", "我也会修鞋": a bare "我还做饭" is small talk, not a new service.
_ADD = re.compile(
    rf"(?:我)?(?:(?:现在|以后|今后)(?:也|还)(?:能|会|可以|接)?|(?:也|还)(?:能|会|可以|接))"
    rf"((?:{_VERB}).{{1,12}}?)了?"
)
_DROP = re.compile(rf"(?:我)?(?:现在|以后|今后)?不(?:再)?({_VERB})(.{{1,12}}?)了?")
_MOVE = re.compile(
    r"(?:我的?)?(?:摊位|摊子|店|铺子|门店|我)?(?:搬到|搬去|挪到|换到|移到)了?(.{2,30}?)(?:了|去了)?"
)
_MOVED = re.compile(r"(?:我的?)?(?:摊位|摊子|店|铺子|门店|我)(?:搬|搬家|换地方|挪地方)了?")
_PHONE = re.compile(
    r"(?:我的?)?(?:电话|手机|号码|手机号|电话号码|联系电话)(?:改成|改为|换成|换了|改)[:：]?(.+)"
)
_VISITS_ON = re.compile(r"(?:现在|以后|今后)(?:也)?(?:可以|能)上门了?|(?:也)(?:可以|能)上门了?")
_VISITS_OFF = re.compile(r"(?:现在|以后)?不(?:再)?上门了?")
_REPLY = re.compile(r"回复评价\s*(\d+)\s*[:：,，]?\s*(.*)", re.S)


async def _is_craftsman(ctx: Context) -> bool:
    return await Craftsman.exists(openid=ctx.user)


def _statement(ctx: Context) -> bool:
    """Said, not asked: "可以上门吗？" is a question about someone, not a change."""
    text = ctx.msg.text.strip()
    return not (text.endswith(("?", "？")) or "吗" in text)


def _stopped(ctx: Context) -> bool:
    """"不修电视了", "不再修电视": a "我不开心" is not a service dropped."""
    text = ctx.msg.text.strip().rstrip("。.!！ ")
    return text.endswith("了") or bool(re.search(r"不再|再也不|以后不|今后不|现在不", text))


def _done(changed: service.Changed) -> str:
    if changed.pending:
        return f"好的，已提交：{changed.said}。社区确认后居民就能看到，会通知您。"
    return f"好的，{changed.said}。"


def _prices(text: str) -> list[tuple[str, str]] | None:
    """"改裤脚15元 换拉链20元" → [("改裤脚", "15"), ...]; None unless it is only prices."""
    rest = _PRICES_HEAD.sub("", text)
    found = [(n, p) for n, p in service.PRICE.findall(rest)]
    if not found or service.PRICE.sub("", rest).strip(" 、，,；;。"):
        return None
    return found


# A price (a number, then 元 or 块) or `_PRICES_HEAD` alone: a cheap test of `said` for routing.
_PRICES_SAID = re.compile(r"\d\s*[元块]|^(?:价格|价钱|收费|价目)")


@gate(kinds=[Kind.TEXT], test=_PRICES_SAID.search)
def _says_prices(ctx: Context) -> bool:
    text = said(ctx)
    return _prices(text) is not None or bool(_PRICES_HEAD.fullmatch(text))


@own.message(matches(_HOURS.pattern), _statement, _is_craftsman)
async def change_hours(ctx: Context) -> HandlerResult:
    """营业时间改成每天8点到下午6点."""
    m = _HOURS.fullmatch(said(ctx))
    assert m is not None
    wanted = m.group(1).strip()
    if wanted in ("", "一下", "下"):
        return "营业时间改成几点？比如“营业时间改成每天8点到18点”。"
    return await _changing(service.change_hours(ctx.redis, ctx.services.notify, ctx.user, wanted))


@own.message(matches(_HOURS_BEFORE.pattern), _statement, _is_craftsman)
async def change_hours_before(ctx: Context) -> HandlerResult:
    """改成每天8点到18点营业."""
    m = _HOURS_BEFORE.fullmatch(said(ctx))
    assert m is not None
    return await _changing(
        service.change_hours(ctx.redis, ctx.services.notify, ctx.user, m.group(1))
    )


@own.message(matches(_CLOSED.pattern), _statement, _is_craftsman)
async def close_days(ctx: Context) -> HandlerResult:
    """周日休息 / 周六和周日不营业: those days closed, the others kept."""
    m = _CLOSED.fullmatch(said(ctx))
    assert m is not None
    days = re.sub(r"[和,，]", "、", m.group(1))
    return await _changing(service.close_days(ctx.redis, ctx.services.notify, ctx.user, days))


@own.message(_says_prices, _statement, _is_craftsman)
async def change_prices(ctx: Context) -> HandlerResult:
    """改裤脚15元 换拉链20元; a bare 价格改一下 is asked about."""
    prices = _prices(said(ctx))
    if prices is None:
        return "请说服务和价格，比如“改裤脚15元 换拉链20元”。"
    return await _changing(
        service.change_prices(ctx.redis, ctx.services.notify, ctx.user, prices)
    )


@own.message(matches(_VISITS_ON.pattern), _statement, _is_craftsman)
async def visits_on(ctx: Context) -> HandlerResult:
    return await _changing(service.set_home_visits(ctx.redis, ctx.services.notify, ctx.user, True))


@own.message(matches(_VISITS_OFF.pattern), _statement, _is_craftsman)
async def visits_off(ctx: Context) -> HandlerResult:
    return await _changing(
        service.set_home_visits(ctx.redis, ctx.services.notify, ctx.user, False)
    )


@own.message(matches(_ADD.pattern), _statement, _is_craftsman)
async def add_service(ctx: Context) -> HandlerResult:
    """我现在也修拉链 (a service of their trade) / 我现在也修鞋 (a new trade: the community
    approves it first)."""
    m = _ADD.fullmatch(said(ctx))
    assert m is not None
    return await _changing(
        service.add_service(ctx.redis, ctx.services.notify, ctx.user, m.group(1))
    )


@own.message(matches(_DROP.pattern), _statement, _stopped, _is_craftsman)
async def drop_service(ctx: Context) -> HandlerResult:
    """不修电视了 / 不做家电维修了."""
    m = _DROP.fullmatch(said(ctx))
    assert m is not None
    verb, what = m.group(1), m.group(2)
    wanted = what if verb in ("做", "接") else verb + what
    return await _changing(
        service.drop_service(ctx.redis, ctx.services.notify, ctx.user, wanted)
    )


async def _move_to_text(ctx: Context, place: str) -> HandlerResult:
    found = await service.compound_location(place)
    if found is None:
        await ctx.wait_for_location(MOVE_ACTION, {"address": place})
        return f"没找到“{place[:20]}”在地图上的位置。请发送新摊位的位置（点“+”→位置）。"
    name, lat, lng = found
    return await _changing(
        service.move(ctx.redis, ctx.services.notify, ctx.user, lat, lng, place, name)
    )


@own.message(matches(_MOVED.pattern), _statement, _is_craftsman)
async def moved(ctx: Context) -> HandlerResult:
    """摊位搬了: where to? A location sent next (or a compound typed) answers."""
    await ctx.wait_for_location(MOVE_ACTION, {})
    return ASK_MOVE


@own.message(matches(_MOVE.pattern), _statement, _is_craftsman)
async def move_to(ctx: Context) -> HandlerResult:
    """摊位搬到幸福小区东门 / 我搬到和平里3号楼下了."""
    m = _MOVE.fullmatch(said(ctx))
    assert m is not None
    return await _move_to_text(ctx, m.group(1).strip())


@gate(kinds=[Kind.TEXT], test=bool)
async def _waiting_to_move(ctx: Context) -> bool:
    if ctx.msg.kind is not Kind.TEXT or not said(ctx):
        return False
    raw = await ctx.redis.get(keys.pending(ctx.conv))
    return bool(raw) and json.loads(raw).get("action") == MOVE_ACTION


@own.message(_waiting_to_move)
async def move_typed(ctx: Context) -> HandlerResult:
    """A compound name typed after 摊位搬了."""
    await ctx.clear_pending()
    return await _move_to_text(ctx, said(ctx))


@own.on_resume(MOVE_ACTION)
async def move_located(ctx: Context, payload: dict[str, Any]) -> HandlerResult:
    """The location sent after 摊位搬了: the stall is there now."""
    loc = ctx.msg.location
    assert loc is not None
    address = payload.get("address") or loc.label or f"{loc.lat:.5f},{loc.lng:.5f}"
    compound = service.guess_compound(address)
    return await _changing(
        service.move(ctx.redis, ctx.services.notify, ctx.user, loc.lat, loc.lng, address, compound)
    )


@own.message(matches(_PHONE.pattern), _statement, _is_craftsman)
async def change_phone(ctx: Context) -> HandlerResult:
    m = _PHONE.fullmatch(said(ctx))
    assert m is not None
    return await _changing(
        service.change_phone(ctx.redis, ctx.services.notify, ctx.user, m.group(1))
    )


async def _changing(change: Any) -> str:
    try:
        return _done(await change)
    except DirectoryError as exc:
        return str(exc)


MY_LISTING = ("我的信息", "我的登记", "我的资料", "我的登记信息", "看看我的登记")


@own.message(words(*MY_LISTING), _is_craftsman)
async def my_listing(ctx: Context) -> HandlerResult:
    """我的信息: the craftsman's listing as it stands, and changes waiting for the community."""
    craftsman = await service.own_listing(ctx.user)
    return service.listing_text(craftsman, await service.pending_changes(craftsman))


@own.message(words("我的评价", "看评价", "我的评论", "看看评价"), _is_craftsman)
async def my_reviews(ctx: Context) -> HandlerResult:
    """我的评价: newest first, numbered for 回复评价 N."""
    reviews = await service.my_reviews(ctx.user)
    if not reviews:
        return "还没有居民评价您。"
    lines = ["居民对您的评价（最新的在前）：", *service.review_lines(reviews)]
    lines.append("回复某条评价：说“回复评价 序号 回复内容”，如“回复评价 1 谢谢您，欢迎再来”。")
    return search.fit(lines)


@own.message(matches(_REPLY.pattern))
async def reply_review(ctx: Context) -> HandlerResult:
    """回复评价 2 谢谢您，欢迎再来: the answer to number 2 of 我的评价; the resident is told."""
    m = _REPLY.fullmatch(said(ctx))
    assert m is not None
    try:
        r = await service.reply_review(ctx.user, int(m.group(1)), m.group(2))
    except DirectoryError as exc:
        return str(exc)
    return f"好的，已回复第{m.group(1)}条评价（{r.stars}星），评价人会收到通知。"
