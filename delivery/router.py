"""Meal delivery in the chat: sign up (a form), cancel, ask; volunteers report; staff look."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Awaitable, Callable
from typing import Any

from bot import forms
from bot.context import Context
from bot.forms import Form, Invalid, Step
from bot.messages import Kind
from bot.nlu.slots import extract_dates, extract_for_whom, extract_meal
from bot.router import HandlerResult, Router, gate, gated, intent, said
from canteen import service as canteen_service
from community.buildings import AddressError, parse_address
from community.errors import DomainError
from community.numerals import listed_numbers
from community.phones import normalise_phone
from delivery import handover, points, roster, service, subsidy, texts
from delivery.days import day_name, days_summary, means_all, parse_days
from delivery.service import SELF, Booking, Result, meal_label
from delivery.texts import NO_CANTEEN
from models.canteen import Canteen, CanteenMeal, Meal
from models.delivery import Outcome, Signup, SubsidyTier
from models.users import Role, RoleGrant

router = Router("delivery")

SKIP_WORDS = {"没有", "无", "没", "不用", "跳过", "没有了", "不需要", "都能吃", "没忌口"}
SELF_WORDS = {"自己", "我", "我自己", "本人", "给我", "我的", "俺", "我一个人"}




# ---- volunteers report deliveries --------------------------------------------------------------

# Roster numbers, then what happened: "3 送到", "1、2号没人", "1 2 3 都送到了". The numbers are
# one character class that must end on a digit, not a repeated group: the nested quantifier
# this was backtracked exponentially ("1"x29 froze the server for 15 s, before any role check).
_REPORTED = (
    r"(送到了?|已送到?|已送达|送达|送好了|到了|没人开门|没人应门?|敲门没人应?|没人|无人应答|家里没人"
    r"|不在家|出去了|外出)\s*$"
)
_REPORT_RE = re.compile(r"^([\d\s,，、和号]*\d(?:\s*号)?)\s*(?:都|全)?" + _REPORTED)
# How a report ends (`listed_numbers` rewrites numerals only, never these words): a cheap test
# of `said` for routing (bot.router.gated).
_REPORT_END = re.compile(_REPORTED)
# A roster is numbered from 1; a longer run of digits is not a roster number.
_MAX_NUMBER_DIGITS = 3
_OUTCOMES = {"不在家": Outcome.NOT_HOME, "出去了": Outcome.NOT_HOME, "外出": Outcome.NOT_HOME}


def _outcome(word: str) -> Outcome:
    if word in _OUTCOMES:
        return _OUTCOMES[word]
    return Outcome.NO_ANSWER if ("没" in word or "无" in word) else Outcome.DELIVERED


def _report(text: str) -> tuple[list[int], Outcome] | None:
    """The roster numbers and outcome of a volunteer's report, or None if it is not one."""
    m = _REPORT_RE.match(listed_numbers(text))
    if m is None:
        return None
    digits = re.findall(r"\d+", m.group(1))
    if any(len(d) > _MAX_NUMBER_DIGITS for d in digits):
        return None
    return sorted({int(d) for d in digits}), _outcome(m.group(2))


@gate(kinds=[Kind.TEXT], test=_REPORT_END.search)
async def _is_report(ctx: Context) -> bool:
    if ctx.msg.kind is not Kind.TEXT or _report(said(ctx)) is None:
        return False
    return await RoleGrant.exists(user__openid=ctx.user, role=Role.VOLUNTEER)


@router.message(_is_report)
async def volunteer_report(ctx: Context) -> HandlerResult:
    report = _report(said(ctx))
    assert report is not None
    numbers, outcome = report
    result = await roster.report(ctx.user, numbers, outcome, ctx.now())
    if not result.done:
        asked = "、".join(map(str, numbers))
        return f"今天的送餐名单里没有您负责的第{asked}号。请对照名单上的序号再发一次。"
    reply = f"已记下：第{'、'.join(map(str, result.done))}号{roster.OUTCOME_NAMES[outcome]}。"
    if result.unknown:
        reply += f"\n第{'、'.join(map(str, result.unknown))}号不在您今天的名单里。"
    if outcome is Outcome.NO_ANSWER:
        reply += "\n已通知网格员和家属。"
    return reply


# ---- canteen staff ---------------------------------------------------------------------------

_STAFF_RE = re.compile(
    r"^(今天|今日|今儿个?|明天|明日|明儿个?)?的?送餐(名单|情况|报名|统计|人数)?(怎么样|咋样|如何)?$"
    # "今天送完了吗", "都送到了没"
    r"|^(今天|今日|今儿个?)?(?:的饭)?(?:都)?(?:送完|送到|送好)了?(?:吗|没有?)$"
)


@gate(kinds=[Kind.TEXT], test=_STAFF_RE.match)
async def _is_staff_query(ctx: Context) -> bool:
    text = said(ctx)
    if not _STAFF_RE.match(text) or text == "送餐":
        return False
    return await canteen_service.staff_canteen(ctx.user) is not None


@router.message(_is_staff_query, anywhere=True)
async def staff_summary(ctx: Context) -> HandlerResult:
    canteen = await canteen_service.staff_canteen(ctx.user)
    assert canteen is not None
    day = ctx.now().date()
    if said(ctx).startswith("明"):
        day += dt.timedelta(days=1)
    base = getattr(ctx.services.settings, "base_url", "")
    return await roster.day_summary(canteen, day, console=f"{base}/console/" if base else "")


# 售罄 午餐 / 明天晚餐售罄 (staff): no more sign-ups for that meal; booked ones still go.
_SOLD_OUT = re.compile(r"^.{0,10}?(?:售罄|售完|卖完|已售完)了?.{0,10}$")


_NOT_SOLD_OUT = re.compile(r"(?:没|不|未|别)(?:有)?(?:售罄|售完|卖完)")


@gate(kinds=[Kind.TEXT], test=_SOLD_OUT.match)
async def _is_sold_out(ctx: Context) -> bool:
    text = said(ctx)
    if not _SOLD_OUT.match(text) or _NOT_SOLD_OUT.search(text):  # "明天午餐没卖完": reopened
        return False
    return await canteen_service.staff_canteen(ctx.user) is not None


@router.message(_is_sold_out)
async def sold_out(ctx: Context) -> HandlerResult:
    """售罄 午餐 (staff): the meal takes no more sign-ups today (or the day named: 明天,
    明儿个, 周五, 12月3日)."""
    text = said(ctx)
    wanted = extract_meal(text)
    if not wanted:
        return texts.SOLD_OUT_WHICH
    named = extract_dates(text, ctx.now().date()).get("date")
    day = dt.date.fromisoformat(named) if named else ctx.now().date()
    canteen = await canteen_service.staff_canteen(ctx.user)
    assert canteen is not None
    try:
        slot = await service.sold_out(ctx.user, canteen, Meal(wanted), day, ctx.now())
    except DomainError as exc:
        return exc.message
    return texts.sold_out(day_name(day), meal_label(wanted), slot.booked)


# 今天我去不了 (volunteers): today's unreported lines go to the area's other volunteers.
_CANNOT_GO = re.compile(
    r"^(?:我|俺)?(?:今天|今日|今儿个?)?(?:我|俺)?(?:有事|临时有事|身体不舒服)?[，, ]?"
    r"(?:去不了|来不了|送不了|没法送|不能送|不能去|送不成|去不成|来不成|请假)(?:送餐)?了?"
    # the reason said after it: "今天俺去不成了 腰疼", "今天去不了，家里有事"
    r"(?:[，,。 ]+[^\d，,。 ]{1,12})?$"
)
# Each of _CANNOT_GO's words, as typed or said (`command_text` strips filler before them and
# particles after, "去不了" said is "去不"): a cheap test of `said` for routing (bot.router.gated).
_CANNOT_GO_SAID = re.compile("去不|来不|送不|没法送|不能送|不能去|请假")


@gate(kinds=[Kind.TEXT], test=_CANNOT_GO_SAID.search)
def _is_cannot_go(ctx: Context) -> bool:
    # Matched as said too: command_text strips the final 了 of "去不了".
    typed = ctx.msg.text.strip(" 。.!！?？~～，,") if ctx.msg.kind is Kind.TEXT else ""
    return bool(_CANNOT_GO.match(typed) or _CANNOT_GO.match(said(ctx)))


def _wait(ctx: Context) -> dt.timedelta:
    settings = ctx.services.settings
    minutes = getattr(settings, "handover_wait_minutes", None) if settings is not None else None
    return dt.timedelta(minutes=minutes) if minutes else handover.DEFAULT_WAIT


async def _volunteer(ctx: Context) -> bool:
    return await RoleGrant.exists(user__openid=ctx.user, role=Role.VOLUNTEER)


@router.message(_is_cannot_go, anywhere=_volunteer)
async def cannot_go(ctx: Context) -> HandlerResult:
    """今天我去不了: offer today's round to the area's other volunteers (else the staff)."""
    try:
        done = await handover.hand_over(ctx.user, ctx.now(), _wait(ctx))
    except DomainError as exc:
        return exc.message
    until = f"{done.handover.expires_at.astimezone(ctx.now().tzinfo):%H:%M}"
    return texts.handed_over(done.lines, len(done.to_volunteers), until)


# 我又能去了 (the volunteer who asked for help, while nobody has accepted).
_CAN_GO = re.compile(
    r"^(?:我|俺)?(?:今天|今儿个?)?(?:又|还是|现在又?|其实)?"
    r"(?:能去|可以去|能送|可以送|去得了|送得了|去得成|自己送|自己去)了?(?:送餐)?(?:了|啦)?$"
    r"|^(?:不用|不要)(?:换人|找人|帮忙)了?$|^不请假了$"
)
# Each of _CAN_GO's words, typed or said ("去得了" said is "去得"): a cheap test for routing.
_CAN_GO_SAID = re.compile("能去|能送|可以去|可以送|去得|送得|自己送|自己去|换人|找人|帮忙|不请假")


def _typed(ctx: Context) -> str:
    return ctx.msg.text.strip(" 。.!！?？~～，,") if ctx.msg.kind is Kind.TEXT else ""


@gate(kinds=[Kind.TEXT], test=_CAN_GO_SAID.search)
async def _is_can_go(ctx: Context) -> bool:
    if not (_CAN_GO.match(_typed(ctx)) or _CAN_GO.match(said(ctx))):
        return False
    return await RoleGrant.exists(user__openid=ctx.user, role=Role.VOLUNTEER)


@router.message(_is_can_go, anywhere=True)
async def can_go(ctx: Context) -> HandlerResult:
    """我又能去了: the round offered is the volunteer's again, while nobody has accepted."""
    try:
        h = await handover.take_back(ctx.user, ctx.now())
    except DomainError as exc:
        return exc.message
    return texts.taken_back(len(h.signup_ids))


# 我来送 / 我接 / 好的我去 / 接 12 (volunteers offered a round): the first to answer takes it.
_ACCEPT = re.compile(
    r"^(?:好的?|好嘞|行|可以|没问题|中)?[，,！!。 ]*"
    r"(?:我来送|我来|我接|我接了|接了|我去送|我去|我能去|我可以去|我可以送|交给我|我帮忙送|我帮忙|接)"
    r"(?:吧|了|的|啊|呀)?[！!。]*$"
)
_ACCEPT_NUMBER = re.compile(r"^(?:我来?接|接|我来送|我送)\s*(?:第)?(\d{1,6})(?:号|个)?(?:吧|了)?$")
# Each of _ACCEPT's and _ACCEPT_NUMBER's words, typed or said: a cheap test for routing.
_ACCEPT_SAID = re.compile("接|我来|我去|我能去|我可以|交给我|我帮忙|我送")


@gate(kinds=[Kind.TEXT], test=_ACCEPT_SAID.search)
async def _is_accept(ctx: Context) -> bool:
    typed = _typed(ctx)
    if not (_ACCEPT.match(typed) or _ACCEPT_NUMBER.match(typed) or _ACCEPT.match(said(ctx))):
        return False
    # A volunteer with nothing offered hears so (never a sign-up form for "我来送").
    return await RoleGrant.exists(user__openid=ctx.user, role=Role.VOLUNTEER)


async def _offered_today(ctx: Context) -> bool:
    """A round was offered to this volunteer today: "我来送" in a form is the answer to it."""
    return bool(await handover.offered_to(ctx.user, ctx.now().date()))


@router.message(_is_accept, anywhere=_offered_today)
async def accept(ctx: Context) -> HandlerResult:
    """我来送: take a round another volunteer of the area cannot do (one answer wins)."""
    m = _ACCEPT_NUMBER.match(_typed(ctx))
    try:
        taken = await handover.accept(
            ctx.user,
            ctx.now(),
            int(m.group(1)) if m else None,
            points.weights_of(ctx.services.settings),
        )
    except DomainError as exc:
        return exc.message
    return handover.taken_reply(taken)


# 我的积分 / 去年积分 / 我2025年的积分 (volunteers) and 积分榜 / 去年积分榜 (staff): points
# weighted by difficulty, per year.
_MY_POINTS = re.compile(
    r"^(?:我的|俺的|我有多少|俺有多少|我|俺|查|查查|查一下|看看)?(?P<year>今年|去年|\d{4}年?)?的?"
    r"(?:志愿者?|志愿服务|服务)?积分(?:多少|有多少|是多少|几分|多少分|有几分)?$"
    # "我有几分了", "俺攒了多少积分", "我今年积了多少分"
    r"|^(?:我|俺)(?P<year2>今年|去年)?(?:一共|总共)?(?:有|攒了|积了|得了|挣了|拿了)"
    r"(?:几分|多少分|多少积分|几个积分)$"
)
_POINTS_LIST = re.compile(
    r"^(今年|本年度?|去年|\d{4}年?)?的?(?:志愿者?)?积分(?:榜|排行榜?|排名|名单)$"
    # "志愿者排名", "去年谁积分最高", "谁送得最多"
    r"|^(今年|本年度?|去年|\d{4}年?)?的?志愿者(?:排名|排行榜?|谁最多|谁积分最高)$"
    r"|^(今年|本年度?|去年|\d{4}年?)?(?:哪个|哪位)?(?:志愿者)?谁?(?:积分最高|积分最多|送得最多)"
    r"(?:的志愿者)?(?:是谁)?$"
)


def _year_said(word: str | None, this_year: int) -> int:
    if not word or word.startswith(("今", "本")):
        return this_year
    if word == "去年":
        return this_year - 1
    return int(word.rstrip("年"))


@router.message(
    gated(lambda ctx: bool(_MY_POINTS.match(said(ctx))), kinds=[Kind.TEXT], test=_MY_POINTS.match),
    anywhere=True,
)
async def my_points(ctx: Context) -> HandlerResult:
    """我的积分: a volunteer's points this year (and this month, with what they were for)."""
    now = ctx.now()
    m = _MY_POINTS.match(said(ctx))
    assert m is not None
    weights = points.weights_of(ctx.services.settings)
    try:
        year = _year_said(m.group("year") or m.group("year2"), now.year)
        mine = await points.points_of(ctx.user, now, year, weights)
    except DomainError as exc:
        return exc.message
    shown = mine.month or mine.total
    when = "本月" if mine.month is not None else f"{mine.year}年"
    month = mine.month.points if mine.month is not None else None
    if mine.courier:  # a courier/rider volunteer: their 随手拍 this year, and the rule for them
        line = texts.courier_work_line(mine.year, mine.total.reports, mine.total.tasks)
        return texts.my_points(mine.year, mine.total.points, month, line, weights.courier_rule())
    line = texts.work_line(when, shown.lines, shown.high_floor, shown.taken_over, shown.tasks)
    return texts.my_points(mine.year, mine.total.points, month, line, weights.rule())


@router.message(
    gated(
        lambda ctx: bool(_POINTS_LIST.match(said(ctx))), kinds=[Kind.TEXT], test=_POINTS_LIST.match
    )
)
async def points_list(ctx: Context) -> HandlerResult:
    """积分榜: the year's volunteers by points (staff and admins), e.g. for 最美志愿者."""
    m = _POINTS_LIST.match(said(ctx))
    assert m is not None
    year = _year_said(m.group(1) or m.group(2) or m.group(3), ctx.now().year)
    try:
        rows = await points.year_list(
            ctx.user, year, weights=points.weights_of(ctx.services.settings)
        )
    except DomainError as exc:
        return exc.message
    return texts.year_list(
        year, [(handover.name_of(t.openid), t.area, t.points, t.courier) for t in rows]
    )


# 12月3日不停餐了 / 取消停餐 12月3日 / 恢复供餐 明天午餐 (staff changing their mind): that meal
# takes sign-ups again. Tried before 停餐, which "12月3日不停餐" would otherwise match.
_REOPEN_DAY = re.compile(
    r"^(?:取消停餐|恢复供餐|恢复送餐|恢复报名|恢复售卖|照常供餐|照常送餐)\s*(.{1,16})$"
    r"|^(.{1,16}?)\s*(?:(?:不|别|不要|先别|甭)停(?:餐|伙)?|取消停餐|恢复供餐|恢复送餐|恢复报名|恢复售卖|"
    r"照常供餐|照常送餐|照常开伙|正常开伙|又开伙|不售罄|没卖完|没售罄)了?$"
)


def _staff_saying(pattern: re.Pattern[str]) -> Callable[[Context], Awaitable[bool]]:
    """A filter: the message matches `pattern` and comes from a canteen's staff."""

    async def check(ctx: Context) -> bool:
        if not pattern.match(said(ctx)):
            return False
        return await canteen_service.staff_canteen(ctx.user) is not None

    return gated(check, test=pattern.match)


_is_reopen_day = _staff_saying(_REOPEN_DAY)


@router.message(_is_reopen_day)
async def reopen_day(ctx: Context) -> HandlerResult:
    """12月3日不停餐了 (staff): a closed or sold-out meal takes sign-ups again."""
    m = _REOPEN_DAY.match(said(ctx))
    assert m is not None
    when = m.group(1) or m.group(2)
    days = parse_days(when, ctx.now().date())
    if days is None or len(days.dates) != 1 or days.recurring:
        return texts.REOPEN_WHICH_DAY
    wanted = extract_meal(when)
    canteen = await canteen_service.staff_canteen(ctx.user)
    assert canteen is not None
    try:
        meals = await service.reopen(
            ctx.user, canteen, days.dates[0], ctx.now(), Meal(wanted) if wanted else None
        )
    except DomainError as exc:
        return exc.message
    day = days.dates[0]
    return texts.day_reopened_for_staff(f"{day.month}月{day.day}日", [meal_label(x) for x in meals])


# 停餐 12月3日 / 明天午餐停餐 / 12月3日食堂休息: a closed day (staff; residents are told).
_CLOSE_DAY = re.compile(
    r"^(?:食堂休息|食堂停餐|停餐|停伙|不开伙|暂停送餐)\s*(.{1,16})$"
    r"|^(.{1,16}?)\s*(?:食堂休息|食堂停餐|停餐|停伙|不开伙|暂停送餐)$"
    # "后天午饭不做了", "周五食堂不开了": the kitchen's own words (staff only, see _is_close_day)
    r"|^(.{1,16}?)\s*(?:不做饭|不做|不开门|不开|不供应|不送餐)了?$"
)


_is_close_day = _staff_saying(_CLOSE_DAY)


# "不停了", "别停", "不要": no closing (算了 and 取消 leave the form, the same way).
_KEEP_OPEN = re.compile(r"^(?:不|别|不要|先别|不用|甭)(?:停(?:餐|伙)?)?了?$")


async def _sure_to_close(ctx: Context, data: forms.Data) -> bool:
    answer = said(ctx)
    if answer in forms.YES:
        return True
    if _KEEP_OPEN.match(answer):
        return False
    raise Invalid(texts.CLOSE_NOT_YET)


def _close_preview(data: forms.Data) -> str:
    day = dt.date.fromisoformat(data["day"])
    return texts.close_preview(
        day_name(day, dt.date.fromisoformat(data["today"])),  # 明天 12月3日（周四）: said plainly
        [meal_label(m) for m in data["meals"]],
        data["bookings"],
        data["residents"],
        data["volunteers"],
    )


# A 确认 long after the question (the form keeps a day) is asked again with today's numbers.
CLOSE_CONFIRM_FOR = dt.timedelta(minutes=30)


async def _done_close(ctx: Context, data: forms.Data) -> HandlerResult:
    if not data["sure"]:
        return texts.CLOSE_KEPT
    day = dt.date.fromisoformat(data["day"])
    if ctx.now() - dt.datetime.fromisoformat(data["asked_at"]) > CLOSE_CONFIRM_FOR:
        return await _ask_to_close(ctx, day, data["meal"], texts.CLOSE_ASK_AGAIN)
    return await _close_now(ctx, day, data["meal"])


CLOSE_FORM = Form(
    name="delivery.close_day",
    title="停餐",
    steps=[Step("sure", _close_preview, _sure_to_close)],
    on_done=_done_close,
    leave_hint=False,  # the question says how not to
    left=texts.CLOSE_KEPT,
    waiting=texts.CLOSE_WAITING,
)


async def _close_now(ctx: Context, day: dt.date, wanted: str | None) -> str:
    """Close it (counting again now: a booking made since the preview is cancelled too)."""
    canteen = await canteen_service.staff_canteen(ctx.user)
    if canteen is None:
        return texts.NOT_STAFF_CLOSE
    try:
        closed = await service.close_day(
            ctx.user, canteen, day, ctx.now(), Meal(wanted) if wanted else None
        )
    except DomainError as exc:
        return exc.message
    name = f"{closed.day.month}月{closed.day.day}日"
    meals = [meal_label(m) for m in closed.meals]
    return texts.day_closed_for_staff(name, meals, closed.cancelled, len(closed.told))


@router.message(_is_close_day)
async def close_day(ctx: Context) -> HandlerResult:
    """停餐 12月3日 (staff): the day's bookings would be cancelled and everyone booked told, so
    the staff are shown how many and asked to confirm; with nobody booked it is done at once."""
    m = _CLOSE_DAY.match(said(ctx))
    assert m is not None
    when = m.group(1) or m.group(2) or m.group(3)
    today = ctx.now().date()
    days = parse_days(when, today)
    if days is None or len(days.dates) != 1 or days.recurring:
        return texts.CLOSE_WHICH_DAY
    wanted = extract_meal(when)
    return await _ask_to_close(ctx, days.dates[0], wanted)


async def _ask_to_close(
    ctx: Context, day: dt.date, wanted: str | None, intro: str = ""
) -> HandlerResult:
    """How many bookings closing would cancel, and 确认 asked; with none, closed at once."""
    canteen = await canteen_service.staff_canteen(ctx.user)
    if canteen is None:
        return texts.NOT_STAFF_CLOSE
    try:
        ahead = await service.preview_close(
            ctx.user, canteen, day, ctx.now(), Meal(wanted) if wanted else None
        )
    except DomainError as exc:
        return exc.message
    if not ahead.bookings:
        return await _close_now(ctx, day, wanted)  # nothing to lose
    data = {
        "day": day.isoformat(),
        "today": ctx.now().date().isoformat(),
        "asked_at": ctx.now().isoformat(),
        "meal": wanted,
        "meals": [str(x) for x in ahead.meals],
        "bookings": ahead.bookings,
        "residents": ahead.residents,
        "volunteers": ahead.volunteers,
    }
    return await forms.start(ctx, CLOSE_FORM, data, intro=intro)


# ---- meal subsidies (助餐补贴) ----------------------------------------------------------------

# 补贴 3号楼2单元401 80岁以上 / 补贴 13812345678 低保 / 补贴 编号12 无 (staff set a tier);
# 本月补贴 / 上月补贴 / 11月补贴 (staff: the month's record); 我的补贴 (residents: their tiers).
_TIER_CMD = re.compile(r"^(?:设置?补贴|补贴类别|助餐补贴|补贴)[:：]?\s*(.*)$")
_MONTH_CMD = re.compile(
    r"^(本月|这个月|上月|上个月|(\d{1,2})月(?:份)?)的?(?:助餐)?补贴(?:统计|汇总|情况|名单)?$"
)
_MY_TIER = re.compile(
    r"^(?:我的|我家的?|我有|我妈的?|我爸的?)(?:助餐)?补贴(?:是什么|是多少|有吗|类别)?$"
)
# A word that looks like a tier someone tried to give (not an address, phone or label).
_TIER_LIKE = re.compile(r"\d|岁|保|困|残|补贴|无|没有")


# Every subsidy command and question says 补贴: a cheap test of `said` for routing.
@gate(kinds=[Kind.TEXT], test=re.compile("补贴").search)
def _is_subsidy(ctx: Context) -> bool:
    """A subsidy command, or a short question about subsidies (老人吃饭有补贴吗)."""
    text = said(ctx)
    return ctx.msg.kind is Kind.TEXT and (
        bool(_TIER_CMD.match(text) or _MONTH_CMD.match(text) or _MY_TIER.match(text))
        or ("补贴" in text and len(text) <= 30)
    )


async def _my_tiers(ctx: Context) -> str:
    lines = []
    for r in await service.recipients_of(ctx.user):
        who = "自己" if r.label == SELF else r.label
        tier = subsidy.tier_of(r)
        lines.append(f"{who}（{r.address}）：{subsidy.tier_name(tier)}")
    return texts.my_tiers(lines)


def _month_asked(text: str, today: dt.date) -> str:
    if text.startswith(("上月", "上个月")):
        last = today.replace(day=1) - dt.timedelta(days=1)
        return subsidy.month_of(last)
    m = _MONTH_CMD.match(text)
    if m and m.group(2):
        month = int(m.group(2))
        year = today.year if month <= today.month else today.year - 1
        return f"{year:04d}-{month:02d}"
    return subsidy.month_of(today)


@router.message(_is_subsidy)
async def subsidy_command(ctx: Context) -> HandlerResult:
    """Staff set a recipient's tier or read the month's record; residents see their own tiers
    (and are told that only staff set them)."""
    text = said(ctx)
    canteen = await canteen_service.staff_canteen(ctx.user)
    if canteen is None or _MY_TIER.match(text):  # their own tiers, never anyone else's
        mine = await _my_tiers(ctx)
        asked = _TIER_CMD.match(text)
        if canteen is None and asked and subsidy.parse_tier(text.split()[-1]) is not None:
            return f"{texts.NOT_STAFF_TIER}\n{mine}"  # 补贴 本人 80岁以上: staff only
        return mine
    m = _TIER_CMD.match(text)
    if _MONTH_CMD.match(text) or (m is None and "月" in text):
        base = getattr(ctx.services.settings, "base_url", "")
        try:
            record = await subsidy.month_record(canteen, _month_asked(text, ctx.now().date()))
        except DomainError as exc:
            return exc.message
        console = f"{base}/console/subsidy?month={record.month}" if base else ""
        return subsidy.record_summary(record, console)
    words = m.group(1).replace("，", " ").replace(",", " ").split() if m else []
    tier = subsidy.parse_tier(words[-1]) if len(words) > 1 else None
    if tier is None and not any(subsidy.names_recipient(w) for w in words[:-1] or words):
        if len(words) < 2 or not _TIER_LIKE.search(words[-1]):  # 补贴 / 补贴标准是多少
            amounts = subsidy.subsidies_of(canteen).items()
            rates = "，".join(f"{subsidy.tier_name(t)}补{subsidy.yuan(c)}" for t, c in amounts)
            return f"{texts.TIER_HOW}\n本食堂每餐补贴：{rates}。"
    last = words[-1]
    if tier is None and len(words) > 1:
        if _TIER_LIKE.search(last) and not subsidy.names_recipient(last):
            return texts.unknown_tier(last[:10])  # "70岁": not a tier, nothing set
    who = words[:-1] if tier is not None else words
    try:
        found = await subsidy.find_recipients(ctx.user, " ".join(who))
    except DomainError as exc:
        return exc.message
    if not found:
        return texts.no_recipient(" ".join(who))
    if len(found) > 1:
        lines = [subsidy.recipient_line(r) for r in found[:8]]
        return texts.which_recipient(lines, found[0].pk, words[-1] if tier else "")
    if tier is None:
        return subsidy.recipient_line(found[0]) + "\n" + texts.TIER_HOW
    try:
        change = await subsidy.set_tier(ctx.user, found[0], tier, ctx.now())
    except DomainError as exc:
        return exc.message
    lunch = await _example_terms(canteen, change.after, ctx.now().date())
    return texts.tier_set(
        subsidy.recipient_line(change.recipient),
        subsidy.tier_name(change.before),
        subsidy.tier_name(change.after),
        lunch,
        change.upcoming,
    )


async def _example_terms(canteen: Canteen, tier: Any, day: dt.date) -> str:
    """What one portion of each delivered meal costs at this tier today, as staff tell the
    resident: 午餐每份10元，补贴4元，自付6元。"""
    meals = await service.delivered_meals(canteen)
    prices = await canteen_service.prices_on(meals, day)
    amounts = subsidy.subsidies_of(canteen)
    said = []
    for meal, price in zip(meals, prices, strict=True):
        t = subsidy.terms_with(tier, price, amounts)
        said.append(
            f"{meal_label(meal.meal)}每份{subsidy.yuan(t.price_cents)}，"
            f"补贴{subsidy.yuan(t.subsidy_cents)}，自付{subsidy.yuan(t.pays_cents)}"
        )
    return "；".join(said) + "。" if said else ""


# ---- sign-up form --------------------------------------------------------------------------


def _label_of(text: str) -> str | None:
    if text in SELF_WORDS:
        return SELF
    who = extract_for_whom(text)
    if who == "self":
        return SELF
    return who or None


async def _prefill_known(ctx: Context, data: forms.Data) -> None:
    """A returning resident: what we know of this recipient is not asked again."""
    known = await service.known_recipient(ctx.user, data["label"])
    if known is not None:
        data.update(
            address=known.address,
            building=known.building,
            diet=known.diet,
            phone=known.phone,
            emergency=known.emergency_phone or "",
            returning=True,
        )


async def _label(ctx: Context, data: forms.Data) -> str:
    label = _label_of(said(ctx))
    if label is None:
        raise Invalid("没听明白给谁送。")
    data["label"] = label
    await _prefill_known(ctx, data)
    return label


# "她住8号楼2单元301", "地址是…": the address without the words around it.
_ADDRESS_LEAD = re.compile(
    r"^(?:[他她我]们?|俺|老人)?(?:家)?(?:就)?(?:住在?|在|地址是?|是)[：:，, ]*"
)


_CN_DIGIT = str.maketrans("零〇一二三四五六七八九幺", "001234567891")
# A room number said digit by digit ("二零一", voice input): 201. Three or four in a row only,
# so "三单元" and "五号楼" keep their words.
_SPOKEN_ROOM = re.compile(r"[零〇一二三四五六七八九幺]{3,4}(?![号楼栋幢单])")


async def _address(ctx: Context, data: forms.Data) -> str:
    text = _SPOKEN_ROOM.sub(lambda m: m.group(0).translate(_CN_DIGIT), said(ctx))
    try:
        address, building = parse_address(_ADDRESS_LEAD.sub("", text))
    except AddressError as exc:
        raise Invalid(str(exc)) from None
    data["building"] = building
    return address


async def _canteen_meals(data: forms.Data) -> list[CanteenMeal]:
    canteen = await canteen_service.canteen_by_id(data["canteen_id"])
    return await service.delivered_meals(canteen) if canteen else []


def _meals_in(text: str) -> list[str]:
    found = []
    for word, meal in (
        ("早", Meal.BREAKFAST),
        ("午", Meal.LUNCH),
        ("中", Meal.LUNCH),
        ("晚", Meal.DINNER),
    ):
        if word in text and meal.value not in found:
            found.append(meal.value)
    if not found and (named := extract_meal(text)):
        found.append(named)
    if not found and re.search(r"都要|三餐|都送|全部", text):  # "午饭晚饭都要" is two
        found = [m.value for m in Meal]
    return found


async def _meals(ctx: Context, data: forms.Data) -> list[str]:
    offered = [m.meal.value for m in await _canteen_meals(data)]
    wanted = _meals_in(said(ctx))
    if not wanted:
        raise Invalid("没听明白要哪一餐。")
    if any(w not in offered for w in wanted):
        raise Invalid(texts.only_meals([meal_label(m) for m in offered]))
    return [m for m in offered if m in wanted]


def _meals_prompt(data: forms.Data) -> str:
    names = "、".join(meal_label(m) for m in data["offered"])
    return f"送哪一餐？食堂送{names}，可以多选，比如“{meal_label(data['offered'][0])}”。"


async def _days(ctx: Context, data: forms.Data) -> list[str]:
    today = ctx.now().date()
    days = parse_days(said(ctx), today)
    if days is None:
        raise Invalid("没听明白是哪几天。")
    future = [d for d in days.dates if d >= today]
    if future and len(future) < len(days.dates) and len(days.dates) > 1:
        days = dataclasses.replace(days, dates=future)  # "这周一到周五" on a Wednesday: from today
    service.check_days(days.dates, today)
    portions = _PORTIONS_TOO.search(said(ctx))
    if portions and "count" not in data:  # "周五 两份": the portions said with the days are kept
        n = count_in(portions.group(0))
        if n is not None and 1 <= n <= service.MAX_COUNT:
            data["count"] = n
    data["recurring"] = days.recurring
    if days.dates:
        data["prices"] = await _prices(await _canteen_meals(data), min(days.dates))
    return [d.isoformat() for d in days.dates]


async def _prices(meals: list[CanteenMeal], day: dt.date) -> dict[str, str]:
    """What each meal costs on `day`, from the one source the menus use too."""
    prices = await canteen_service.prices_on(meals, day)  # one query for them all
    return {
        m.meal.value: f"{meal_label(m.meal)}{cents / 100:g}元一份"
        for m, cents in zip(meals, prices, strict=True)
    }


# Portions said beside another answer ("周五 两份"): only with 份/盒, never a bare number.
_PORTIONS_TOO = re.compile(r"(\d{1,3}|[一二两俩三四五六七八九十]{1,3})\s*(?:份|盒)")
_COUNT_RE = re.compile(r"(\d{1,3}|[一二两俩三四五六七八九十]{1,3})\s*(?:份|个|盒|人)")
_BARE_COUNT_RE = re.compile(r"^(?:要|来|订)?(\d{1,3}|[一二两俩三四五六七八九十]{1,3})$")


def count_in(text: str) -> int | None:
    """Portions as people say them: "2", "两份", "俩", "一份就够 她吃得少"."""
    from bot.nlu.slots import cn_number

    m = _COUNT_RE.search(text) or _BARE_COUNT_RE.match(text)
    if m is None:
        return None
    word = m.group(1).replace("俩", "两")
    return cn_number(word)


async def _count(ctx: Context, data: forms.Data) -> int:
    n = count_in(said(ctx))
    if n is None:
        raise Invalid("请回复数字，比如“1”。")
    if not 1 <= n <= service.MAX_COUNT:
        raise Invalid(f"每餐最多送{service.MAX_COUNT}份。")
    return n


async def _diet(ctx: Context, data: forms.Data) -> str:
    text = said(ctx)
    if not text:
        raise Invalid("请用文字回复。")
    if text in SKIP_WORDS:
        return ""
    if len(text) > 100:
        raise Invalid("写得太长了，请简单说说，不超过100个字。")
    return text


_phone = forms.phone_step(normalise_phone)
_emergency = forms.phone_step(normalise_phone, SKIP_WORDS, "没有紧急联系人就回复“没有”。")


_confirm = forms.confirm_step("请回复“确认”报名，或“修改”重新填写。", also=("报名",))


def _summary(data: forms.Data) -> str:
    today = dt.date.fromisoformat(data["today"])
    days = [dt.date.fromisoformat(d) for d in data["days"]]
    lines = [
        "请核对送餐报名：",
        f"给谁：{data['label']}",
        f"地址：{data['address']}",
        f"哪餐：{'、'.join(meal_label(m) for m in data['meals'])}",
        f"日期：{days_summary(days, today)}",
        f"份数：每餐{data['count']}份（{'，'.join(data['prices'][m] for m in data['meals'])}）",
        f"忌口：{data['diet'] or '无'}",
        f"电话：{data['phone']}",
        f"紧急联系人：{data['emergency'] or '无'}",
        "没问题回复“确认”，要改回复“修改”。",
    ]
    return "\n".join(lines)


def _known(name: str) -> Any:
    return lambda data: name in data


def _show_days(value: list[str]) -> str:
    days = [dt.date.fromisoformat(d) for d in value]
    shown = "、".join(f"{d.month}月{d.day}日" for d in days[:4])
    return (shown + (f" 等{len(days)}天" if len(days) > 4 else "")) if days else "无"


SIGNUP_FORM = Form(
    name="delivery.signup",
    title="送餐报名",
    steps=[
        Step(
            "label",
            "给谁送？给自己送回复“自己”，给家人送就说称呼，比如“我妈”。",
            _label,
            _known("label"),
            label="给谁", names=r"给谁|称呼",
        ),
        Step(
            "address",
            "送到哪里？请写楼号、单元、门牌，比如“3号楼2单元401”。",
            _address,
            _known("address"),
            label="地址", names=r"地址|住址|门牌|房号|门牌号|号楼|单元|栋|幢",
        ),
        Step(
            "meals", _meals_prompt, _meals, _known("meals"),
            label="哪餐", names=r"早饭|午饭|中饭|晚饭|早餐|午餐|晚餐|中午|晚上|早上|哪餐|哪一餐",
            show=lambda v: "、".join(meal_label(m) for m in v),
            accepts=frozenset({"menu_query"}),
        ),
        Step(
            "days", "哪几天送？比如“明天”“周一到周五”“每个工作日”。", _days, _known("days"),
            label="日期",
            names=r"日期|哪天|哪几天|今天|明天|后天|周[一二三四五六日天末]|星期|工作日|每天|天天",
            show=_show_days,
        ),
        Step(
            "count", "每餐要几份？回复数字，比如“1”。", _count, _known("count"),
            label="份数", names=r"份数|(?<!\d)\d+份|[一两俩三四五六七八九十]份|几份|俩",
            show=lambda v: f"每餐{v}份",
        ),
        Step(
            "diet",
            "有忌口或特别要求吗？比如少盐、要软烂。没有就回复“没有”。",
            _diet,
            _known("diet"),
            label="忌口", names=r"忌口|口味|太咸|少盐|少油|清淡|不吃|吃素|不要辣|软烂|咬不动",
            free=True, accepts=frozenset({"menu_query"}),
        ),
        Step(
            "phone", "联系电话是多少？送餐的志愿者会打这个电话。", _phone, _known("phone"),
            label="电话", names=r"(?<!紧急)(?:电话|手机|号码)",
        ),
        Step(
            "emergency",
            "紧急联系人的电话？敲门没人应时我们会联系。没有就回复“没有”。",
            _emergency,
            _known("emergency"),
            label="紧急联系人", names=r"紧急联系人|紧急电话|紧急联系",
        ),
        Step("confirm", _summary, _confirm),
    ],  # fmt: skip
    on_done=lambda ctx, data: _submit(ctx, data),
    own_intents=frozenset({"delivery_signup"}),
)


def _booking_line(b: Booking, today: dt.date) -> str:
    return f"{day_name(b.day, today)}{meal_label(b.meal)}"


async def _submit(ctx: Context, data: forms.Data) -> HandlerResult:
    if not data["confirm"]:
        keep = {k: data[k] for k in ("canteen_id", "offered", "prices", "today", "label")}
        return await forms.start(ctx, SIGNUP_FORM, keep, intro="好的，我们重新填一遍。")
    recipient = await service.save_recipient(
        ctx.user,
        label=data["label"],
        address=data["address"],
        building=data["building"],
        phone=data["phone"],
        emergency_phone=data["emergency"] or None,
        diet=data["diet"],
    )
    meals = {m.meal.value: m for m in await _canteen_meals(data)}
    now, today = ctx.now(), ctx.now().date()
    results: list[Booking] = []
    for day in data["days"]:
        for meal in data["meals"]:
            if meal in meals:
                results.append(
                    await service.book(
                        recipient, meals[meal], dt.date.fromisoformat(day), data["count"], now
                    )
                )
    if data.get("recurring"):  # "every weekday" quietly starts at the first open day
        results = [b for b in results if b.result is not Result.CLOSED]
    ok = [b for b in results if b.result in (Result.BOOKED, Result.UPDATED, Result.ALREADY)]
    lines = []
    if ok:
        lines.append(
            f"报名成功！给{data['label']}送到{data['address']}，每餐{data['count']}份：\n"
            + "、".join(_booking_line(b, today) for b in ok)
        )
        if data.get("recurring"):
            last = max(b.day for b in ok)
            lines.append(f"已报到{day_name(last)}，之后要继续送请再报名。")
    for status, word in ((Result.CLOSED, "已过报名截止时间"), (Result.FULL, "名额已满")):
        missed = [b for b in results if b.result is status]
        if not missed:
            continue
        lines.append("、".join(_booking_line(b, today) for b in missed) + f"{word}。")
        first = missed[0]
        after = max(first.day, max((b.day for b in results), default=first.day))
        offer = await service.next_open_day(meals[first.meal], after, data["count"], now)
        if offer is not None:
            lines.append(
                f"{day_name(offer, today)}{meal_label(first.meal)}还有名额，"
                f"要报就回复“送餐 {offer.month}月{offer.day}日{meal_label(first.meal)}"
                f"{data['count']}份”。"
            )
    limited = [b for b in results if b.result is Result.LIMIT]
    if limited:  # the reason is the service's own words, as the API gives them
        names = "、".join(_booking_line(b, today) for b in limited)
        lines.append(f"{names}没有报上：{limited[0].reason}")
    # A closed day or a sold-out meal: the service's words (the API's `message`), each day's own.
    lines += [b.reason for b in results if b.result in (Result.DAY_CLOSED, Result.SOLD_OUT)]
    if ok:
        lines.append("取消回复“取消送餐”，查询回复“我订了几天”。")
    return "\n".join(lines) or "没有报上名，请稍后再试。"


@router.message(intent("delivery_signup"))
async def start_signup(ctx: Context) -> HandlerResult:
    canteen = await canteen_service.default_canteen()
    meals = await service.delivered_meals(canteen) if canteen else []
    if canteen is None or not meals:
        return NO_CANTEEN
    today = ctx.now().date()
    data: forms.Data = {
        "canteen_id": canteen.pk,
        "offered": [m.meal.value for m in meals],
        "prices": await _prices(meals, today + dt.timedelta(days=1)),
        "today": today.isoformat(),
    }
    if len(meals) == 1:
        data["meals"] = [meals[0].meal.value]
    slots = ctx.nlu.slots
    text = ctx.msg.text
    if who := slots.get("for_whom"):
        data["label"] = SELF if who == "self" else (_label_of(who) or who)
        await _prefill_known(ctx, data)
    elif len(on_file := await service.recipients_of(ctx.user)) == 1:
        data["label"] = on_file[0].label  # nobody named: the one they always order for
        await _prefill_known(ctx, data)
    if (meal := slots.get("meal")) in data["offered"] and "meals" not in data:
        data["meals"] = [meal]
    if (days := parse_days(text, today)) is not None and all(d >= today for d in days.dates):
        data["days"] = [d.isoformat() for d in days.dates]
        data["recurring"] = days.recurring
        if days.dates:
            data["prices"] = await _prices(meals, min(days.dates))
    if isinstance(count := slots.get("count"), int) and 1 <= count <= service.MAX_COUNT:
        data["count"] = count
    if address := slots.get("address"):
        try:
            data["address"], data["building"] = parse_address(address)
        except AddressError:
            pass
    intro = (
        "好的，帮您报名社区食堂送餐上门。"
        if "returning" not in data
        else "欢迎回来，地址和电话用上次的。"
    )
    return await forms.start(ctx, SIGNUP_FORM, data, intro=intro)


# ---- cancel and status ---------------------------------------------------------------------

_CANCEL_ALL_RE = re.compile(r"^(全部|都|所有的?)取消$|^取消(全部|所有)(送餐)?$")


@gate(kinds=[Kind.TEXT], test=_CANCEL_ALL_RE.match)
def _is_cancel(ctx: Context) -> bool:
    return ctx.msg.kind is Kind.TEXT and bool(_CANCEL_ALL_RE.match(said(ctx)))


async def _cancel_matching(ctx: Context, text: str) -> str | None:
    """Cancel what `text` names; None when it names no day (and does not say 'all')."""
    now, today = ctx.now(), ctx.now().date()
    label = _label_of(text) if extract_for_whom(text) not in (None, "self") else None
    signups = await service.upcoming(ctx.user, today, label)
    if not signups:
        return "您现在没有送餐报名。"
    days = parse_days(text, today)
    if days is None and not means_all(text) and not _is_cancel(ctx) and text not in {"全部", "都"}:
        return None
    meals = _meals_in(text) if re.search(r"[早午中晚]饭|[早午晚]餐|中午|晚上|早上", text) else []
    chosen = [
        s
        for s in signups
        if (days is None or s.slot.date in days.dates) and (not meals or s.slot.meal in meals)
    ]
    if not chosen:
        when = days_summary(days.dates, today) if days else ""
        return f"{when}没有您的送餐报名。回复“我订了几天”查看。"
    done: list[Signup] = []
    late: list[Signup] = []
    for s in chosen:
        meal = await service.meal_of(s.slot)
        if meal is not None and await service.cancel(s, meal, now):
            done.append(s)
        else:
            late.append(s)
    lines = []
    if done:
        lines.append("已取消：" + "、".join(_signup_name(s, today) for s in done) + "。")
    if late:
        lines.append(
            "、".join(_signup_name(s, today) for s in late)
            + texts.PAST_CUTOFF_CANCEL
        )
    return "\n".join(lines)


def _signup_name(s: Signup, today: dt.date) -> str:
    who = "" if s.recipient.label == SELF else f"（{s.recipient.label}）"
    return f"{day_name(s.slot.date, today)}{meal_label(s.slot.meal)}{who}"


async def _cancel_which(ctx: Context, data: forms.Data) -> str:
    answer = await _cancel_matching(ctx, said(ctx))
    if answer is None:
        raise Invalid("没听明白是哪天。")
    return answer


CANCEL_FORM = Form(
    name="delivery.cancel",
    title="取消送餐",
    steps=[
        Step("which", "取消哪天的送餐？比如“明天”“周一到周三”，全部取消回复“全部”。", _cancel_which)
    ],
    on_done=lambda ctx, data: _done_cancel(data),
)


async def _done_cancel(data: forms.Data) -> str:
    return str(data["which"])


@router.message(_is_cancel)
async def cancel_all(ctx: Context) -> HandlerResult:
    return await _cancel_matching(ctx, said(ctx))


@router.message(intent("delivery_cancel"))
async def cancel(ctx: Context) -> HandlerResult:
    answer = await _cancel_matching(ctx, said(ctx))
    if answer is not None:
        return answer
    return await forms.start(ctx, CANCEL_FORM)


@router.message(intent("delivery_status"))
async def status(ctx: Context) -> HandlerResult:
    now, today = ctx.now(), ctx.now().date()
    signups = await service.upcoming(ctx.user, today)
    if not signups:
        return "您现在没有送餐报名。要报名回复“送餐”。"
    lines = []
    for s in signups:
        if s.slot.date != today:
            continue
        meal = await service.meal_of(s.slot)
        name = _signup_name(s, today)
        if s.outcome is Outcome.DELIVERED and s.reported_at:
            lines.append(f"{name}已在{s.reported_at.astimezone(now.tzinfo):%H:%M}送到。")
        elif s.outcome is not None:
            lines.append(f"{name}送到时{roster.OUTCOME_NAMES[s.outcome]}，网格员会联系您。")
        elif meal is not None:
            lines.append(
                f"{name}会在{meal.serve_from}到{meal.serve_until}之间送到"
                + ("，志愿者正在送。" if s.slot.roster_built_at else "。")
            )
    days = sorted({s.slot.date for s in signups})
    by_who: dict[str, list[Signup]] = {}
    for s in signups:
        by_who.setdefault(s.recipient.label, []).append(s)
    summary = [f"您报了{len(days)}天的送餐："]
    for label, mine in by_who.items():
        who = "自己" if label == SELF else label
        parts = "、".join(
            f"{day_name(s.slot.date, today)}{meal_label(s.slot.meal)}{s.count}份" for s in mine[:8]
        )
        more = f" 等{len(mine)}餐" if len(mine) > 8 else ""
        tier = subsidy.tier_of(mine[0].recipient)  # shown, never changed here (staff set it)
        paid = "" if tier is SubsidyTier.NONE else f"（助餐补贴：{subsidy.tier_name(tier)}）"
        summary.append(f"{who}（{mine[0].recipient.address}）：{parts}{more}{paid}")
    summary.append("取消回复“取消送餐”。")
    return "\n".join(lines + summary)
