"""Dialogue acts across features, tried before them: small talk, questions whose meaning depends
on who asks (a volunteer's round, the staff's sign-ups), follow-ups about the craftsmen just
listed, complaints and praise in plain words, and side questions the parser left unknown.

Every filter here is a regex on the text first; a database or Redis read happens only when the
words fit, so the common path costs nothing extra.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any

from bot import acts, forms
from bot.context import Context
from bot.forms import Form, Invalid, Step
from bot.messages import Kind
from bot.router import HandlerResult, Router, gate, gated, said
from canteen import service as canteen_service
from community import hours
from community.roles import has_role
from craftsman_directory import service as directory
from craftsman_directory.index import Card, cards
from delivery import roster
from delivery import service as delivery_service
from delivery.days import day_name
from infra import keys
from models.directory import Craftsman, Status
from models.users import Role

router = Router("conversation")

RESULTS = "dir_results"


# ---- small talk ----------------------------------------------------------------------------


@router.message(
    gated(
        lambda ctx: ctx.msg.kind is Kind.TEXT and acts.small_talk(ctx.msg.text) is not None,
        kinds=[Kind.TEXT],
        test=acts.SMALL_TALK_SAID.search,
    )
)
async def small_talk(ctx: Context) -> HandlerResult:
    """谢谢, 再见, 你是谁, 有人吗: a short warm reply."""
    said = acts.small_talk(ctx.msg.text)
    assert said is not None
    return said.reply


# ---- roles change what words mean ----------------------------------------------------------

_ROUND = re.compile(
    r"^(?:今天|今日|今儿个?|明天|明儿个?)?(?:我|俺)?(?:要|该)?(?:送哪几家|送哪些家|送几家|送谁|给谁送|送哪|的?送餐名单|的?名单)"
    r"|^我的(?:送餐)?名单|^名单(?:发我|呢|出来了吗|在哪)|^(?:今天|今日)(?:的)?(?:送餐)?任务"
)
# The day as said, northern forms too ("明儿个"); a meal may follow ("明天晌午饭多少份").
_SIGNUP_DAY = r"(?:今天|今日|今儿个?|明天|明日|明儿个?)"
_SIGNUP_MEAL = r"(?:早饭|早餐|早上|午饭|午餐|中饭|中午|晌午饭?|晚饭|晚餐|晚上)?"
_SIGNUPS = re.compile(
    rf"{_SIGNUP_DAY}?{_SIGNUP_MEAL}(?:有)?(?:谁|哪些人|哪几家|几家|多少人|几个人)(?:订|报)了?"
    r"(?:饭|餐|送餐)?"
    rf"|{_SIGNUP_DAY}{_SIGNUP_MEAL}(?:的)?(?:订了|报了|要)?(?:多少|几)份"
    r"|订饭的?(?:人|名单)|报名(?:情况|名单)"
)


def _asks_round(ctx: Context) -> bool:
    text = said(ctx)
    return len(text) <= 30 and bool(_ROUND.search(text))


def _asks_signups(ctx: Context) -> bool:
    text = said(ctx)
    return len(text) <= 30 and bool(_SIGNUPS.search(text))


@gate(kinds=[Kind.TEXT], test=_ROUND.search)
async def _volunteer_round(ctx: Context) -> bool:
    return _asks_round(ctx) and await has_role(ctx.user, Role.VOLUNTEER)


@router.message(_volunteer_round, anywhere=True)
async def volunteer_round(ctx: Context) -> HandlerResult:
    """A volunteer's "今天送哪几家" / "我的名单": their lines, or when the roster comes."""
    now = ctx.now()
    day = now.date() + dt.timedelta(days=1 if said(ctx).startswith("明") else 0)
    lines = await roster.volunteer_lines(ctx.user, day)
    if lines:
        out = [f"{day_name(day, now.date())}您负责送这几家："]
        out += [roster.roster_line(s) for s in lines]
        out.append("送到后回复“序号 送到”，没人应回复“序号 没人”，比如“1 送到”。")
        return "\n".join(out)
    canteen = await canteen_service.default_canteen()
    meals = await delivery_service.delivered_meals(canteen) if canteen else []
    if not meals:
        return "本社区还没有开通食堂送餐。"
    times = "、".join(
        f"{delivery_service.meal_label(m.meal)}{_when(delivery_service.cutoff_at(m, day), now)}"
        for m in meals
    )
    return (
        f"{day_name(day, now.date())}的送餐名单还没出来（也可能没有您片区的报名）。"
        f"报名一截止就自动发给您：{times}。"
    )


def _when(at: dt.datetime, now: dt.datetime) -> str:
    days = (at.date() - now.date()).days
    return {-1: "昨晚", 0: "", 1: "明天"}.get(days, day_name(at.date(), now.date())) + f"{at:%H:%M}"


@gate(kinds=[Kind.TEXT], test=_SIGNUPS.search)
async def _staff_signups(ctx: Context) -> bool:
    return _asks_signups(ctx) and await canteen_service.staff_canteen(ctx.user) is not None


@router.message(_staff_signups, anywhere=True)
async def staff_signups(ctx: Context) -> HandlerResult:
    """Staff's "今天谁订了饭" / "明天多少份": the day's sign-ups (residents get their own)."""
    canteen = await canteen_service.staff_canteen(ctx.user)
    assert canteen is not None
    day = ctx.now().date()
    if re.search(r"明天|明日|明儿", said(ctx)):
        day += dt.timedelta(days=1)
    return await roster.day_summary(canteen, day, console=_console(ctx))


def _console(ctx: Context) -> str:
    settings = ctx.services.settings
    base = getattr(settings, "base_url", "") if settings is not None else ""
    return f"{base}/console/" if base else ""


# ---- the craftsmen just listed ---------------------------------------------------------------

_ORDINAL = re.compile(r"第?([1-9]|[一二三四五六七八九])(?:个|位|号|家)")
_PRONOUN = re.compile(r"^(?:他|她|这个|那个|这位|那位|这家|那家)(?:师傅|阿姨)?|^(?:这个|那个)人")
_HOURS_Q = re.compile(r"几点|关门|开门|营业|下班|上班|什么时候|开到|休息|今天开")
_PHONE_Q = re.compile(r"电话|号码|手机|怎么联系|联系方式")
_VISIT_Q = re.compile(r"上门|到家|来家|家里来|能来|过来")
_WHERE_Q = re.compile(r"在哪|多远|远不远|地址|怎么走")
_RATING_Q = re.compile(r"评价|靠谱吗|好不好|怎么样|口碑|几分")
_PRICE_Q = re.compile(r"收费|价格|价钱|多少钱|贵不贵|怎么收|收多少|要多少")
_NEAREST = re.compile(
    r"^(?:哪个|哪家|哪位|谁)(?:师傅)?(?:最近|离我最近|近一点|最近的)|^最近的(?:是)?(?:哪个|哪家|哪位|谁)?"
)
_COMPLAINT = re.compile(
    r"投诉|乱收费|收费太高|要价太高|太贵了|坑人|太坑|真坑|坑钱|骗人|骗钱|宰人|黑心|态度(?:不好|差|恶劣|很差)|"
    r"没修好|修坏了|收我\d+|要我\d+|"
    r"不靠谱|太差|差劲|不讲理|不负责|不守时|放鸽子|没来|不来了|要了\d+|收了\d+|要\d+块|"
    # "要了俺三十块钱 太黑了": the sum in words, and overcharging the northern way
    r"(?:要|收)了?(?:我|俺)?[一二两三四五六七八九十百]+块|太黑了|真黑|心黑|宰客|多收|多要|多算"
)
_PRAISE = re.compile(
    r"手艺(?:真|很|挺|特别)?好|修得(?:真|很|挺)?好|改得(?:真|很|挺)?好|做得(?:真|很|挺)?好|好评|点赞|"
    r"很满意|挺满意|非常满意|真不错|很不错|挺不错|靠谱|热情|实惠|便宜|服务(?:真|很|挺)?好|推荐"
)
_CN = "一二三四五六七八九"
# Any of the questions `_follow_up_words` needs (one of them must be asked), in one search; any
# complaint or praise `_names_a_craftsman` needs, in one: cheap tests of `said` for routing
# (bot.router.gated).
_ASKED = re.compile(
    "|".join(
        f"(?:{p.pattern})"
        for p in (_HOURS_Q, _PHONE_Q, _VISIT_Q, _WHERE_Q, _RATING_Q, _PRICE_Q, _COMPLAINT, _PRAISE)
    )
)
_JUDGED = re.compile(f"(?:{_COMPLAINT.pattern})|(?:{_PRAISE.pattern})")


async def _results(ctx: Context) -> dict[str, Any] | None:
    raw = await ctx.redis.get(keys.scratch(ctx.conv, RESULTS))
    return json.loads(raw) if raw else None


async def _listed(ctx: Context) -> list[Card]:
    state = await _results(ctx)
    if not state:
        return []
    asked = state.get("category", "")
    return [_as_asked(c, asked) for c in await cards(ctx.redis, state["ids"][:20]) if c]


def _as_asked(card: Card, category: str) -> Card:
    """The card with the trade that was searched for first (李阿姨 found as 家政, not 裁缝)."""
    if category in card.categories and card.categories[0] != category:
        others = [c for c in card.categories if c != category]
        return dataclasses.replace(card, categories=[category, *others])
    return card


def _named(text: str, listed: list[Card]) -> Card | None:
    """The listed craftsman the text names: '张师傅', '第二个', '2号', or 他/这个 (the first)."""
    for card in listed:
        if card.name and card.name in text:
            return card
    for card in listed:  # '张师傅' for a card named '张建国', '李阿姨' for '李红'
        if re.search(f"{re.escape(card.name[0])}(?:师傅|阿姨|老板|大姐|大哥|姐|哥)", text):
            return card
    m = _ORDINAL.search(text)
    if m:
        n = _CN.find(m.group(1)) + 1 or int(m.group(1))
        return listed[n - 1] if 1 <= n <= len(listed) else None
    if _PRONOUN.search(text) and listed:
        return listed[0]
    return None


def _mentions_someone(text: str) -> bool:
    return bool(
        re.search(r"师傅|阿姨|老板|大姐|大哥|他|她|这个|那个|这位|那位|这家|那家", text)
        or _ORDINAL.search(text)
    )


def _follow_up_words(ctx: Context) -> bool:
    text = said(ctx)
    if not text or len(text) > 40 or not _mentions_someone(text):
        return False
    return bool(
        _HOURS_Q.search(text)
        or _PHONE_Q.search(text)
        or _VISIT_Q.search(text)
        or _WHERE_Q.search(text)
        or _RATING_Q.search(text)
        or _PRICE_Q.search(text)
        or _COMPLAINT.search(text)
        or _PRAISE.search(text)
    )


@gate(kinds=[Kind.TEXT], test=_ASKED.search)
async def _about_listed(ctx: Context) -> bool:
    if not _follow_up_words(ctx):
        return False
    return _named(said(ctx), await _listed(ctx)) is not None


@router.message(_about_listed)
async def about_listed(ctx: Context) -> HandlerResult:
    """After a search: '张师傅几点关门', '第二个电话多少', '他能上门吗', and complaints or praise
    about one of them."""
    text = said(ctx)
    listed = await _listed(ctx)
    card = _named(text, listed)
    assert card is not None
    if _COMPLAINT.search(text):
        return await start_complaint(ctx, card.id, card.name, text)
    if _PRAISE.search(text) and not _RATING_Q.search(text):
        return await start_praise(ctx, card.id, card.name, text)
    return _answer_about(ctx, card, text)


def _answer_about(ctx: Context, card: Card, text: str) -> str:
    trade = directory.category_name(card.categories[0]) if card.categories else ""
    who = f"{card.name}（{trade}）" if trade else card.name
    if _PHONE_Q.search(text):
        return f"{who}的电话：{card.phone}"
    if _PRICE_Q.search(text):
        if card.prices:  # what the craftsman said (改裤脚15元 换拉链20元)
            return f"{who}登记的价格：{card.prices}。别的活打电话问：{card.phone}。"
        return (
            f"{who}没有登记价格，打电话问问最准：{card.phone}。"
            f"觉得收费不合理，可以说“投诉{card.name}”。"
        )
    if _VISIT_Q.search(text):
        if card.home_visits:
            return f"{who}可以上门，打电话约时间：{card.phone}"
        return f"{who}没登记上门服务，可以打电话问问：{card.phone}"
    if _RATING_Q.search(text):
        if card.rating_count:
            return f"{who}{card.rating_avg:.1f}分，{card.rating_count}人评价过。"
        return f"{who}还没有人评价过。"
    if _WHERE_Q.search(text):
        return f"{who}离您不远，打电话问路最方便：{card.phone}"
    return f"{who}营业时间：{hours.in_words(card.hours)}。{_open_now(card, ctx)}电话：{card.phone}"


def _open_now(card: Card, ctx: Context) -> str:
    _, note = hours.state_at(card.hours, ctx.now().replace(second=0, microsecond=0))
    return f"现在{note}。" if note == "营业中" else (f"{note}。" if note else "")


def _asks_nearest(ctx: Context) -> bool:
    return bool(_NEAREST.search(said(ctx)))


@gate(kinds=[Kind.TEXT], test=_NEAREST.search)
async def _nearest_listed(ctx: Context) -> bool:
    return _asks_nearest(ctx) and bool(await _results(ctx))


@router.message(_nearest_listed)
async def nearest(ctx: Context) -> HandlerResult:
    """ "哪个最近" after a search: the one with the shortest walk."""
    state = await _results(ctx)
    assert state is not None
    listed = await _listed(ctx)
    if not listed:
        return "刚才的名单已经过期了，请再找一次。"
    minutes = state["minutes"][: len(listed)]
    n = min(range(len(listed)), key=lambda i: minutes[i])
    card = listed[n]
    trade = directory.category_name(card.categories[0]) if card.categories else ""
    walk = f"步行约{minutes[n]}分钟"
    return f"最近的是第{n + 1}位：{card.name}（{trade}），{walk}，电话：{card.phone}"


_BARE_NUMBER = re.compile(r"^(?:第)?([1-9]|[一二三四五六七八九])(?:个|位|号)?$")


@gate(kinds=[Kind.TEXT], test=_BARE_NUMBER.match)
async def _bare_number_for_results(ctx: Context) -> bool:
    """A bare number refers to the last numbered list shown: here, the search results (the
    directory's "找A还是B" question, when it is the newer list, answers it itself)."""
    if not _BARE_NUMBER.match(said(ctx)):
        return False
    if await ctx.redis.get(keys.scratch(ctx.conv, "dir_clarify")):
        return False
    return bool(await _listed(ctx))


@router.message(_bare_number_for_results)
async def numbered(ctx: Context) -> HandlerResult:
    m = _BARE_NUMBER.match(said(ctx))
    assert m is not None
    listed = await _listed(ctx)
    n = _CN.find(m.group(1)) + 1 or int(m.group(1))
    if not 1 <= n <= len(listed):
        return f"刚才的名单只有{len(listed)}位，请回复1到{len(listed)}。"
    card = listed[n - 1]
    trade = directory.category_name(card.categories[0]) if card.categories else ""
    visit = "，可上门" if card.home_visits else ""
    return (
        f"{n}. {card.name}（{trade}）电话：{card.phone}\n"
        f"营业时间：{hours.in_words(card.hours)}{visit}\n"
        f"评价回复“评价 {n} 5 很好”，投诉直接说哪里不好。"
    )


# ---- complaints and praise about a craftsman named without a list -----------------------------


def _names_a_craftsman(ctx: Context) -> bool:
    text = said(ctx)
    return bool(
        text
        and len(text) <= 60
        and (_COMPLAINT.search(text) or _PRAISE.search(text))
        and (_TITLED.search(text) or _CALLED.search(text))
    )


# "张师傅", "李阿姨"; or "老张", "修鞋的小李", as neighbours call a craftsman (group 1: surname).
_TITLED = re.compile(r"([\u4e00-\u9fff])(?:师傅|阿姨)")
_CALLED = re.compile(r"(?:^|[^\u4e00-\u9fff]|的|那个|这个)[老小]([\u4e00-\u9fff])")


@gate(kinds=[Kind.TEXT], test=_JUDGED.search)
async def _known_craftsman(ctx: Context) -> bool:
    if not _names_a_craftsman(ctx):
        return False
    return await _craftsman_named(said(ctx)) is not None


async def _craftsman_named(text: str) -> Craftsman | None:
    m = _TITLED.search(text)
    if m is not None:
        exact = await Craftsman.filter(name=m.group(0), status=Status.APPROVED).first()
        if exact is not None:
            return exact
    else:
        m = _CALLED.search(text)
        if m is None:
            return None
    rows = await Craftsman.filter(name__startswith=m.group(1), status=Status.APPROVED).limit(2)
    return rows[0] if len(rows) == 1 else None


@router.message(_known_craftsman)
async def about_named(ctx: Context) -> HandlerResult:
    """'我要投诉张师傅', '那个张师傅乱收费', '李阿姨手艺真好' with no list shown."""
    text = said(ctx)
    craftsman = await _craftsman_named(text)
    assert craftsman is not None
    if _COMPLAINT.search(text):
        return await start_complaint(ctx, craftsman.id, craftsman.name, text)
    return await start_praise(ctx, craftsman.id, craftsman.name, text)


_REASON_NOISE = re.compile(
    r"我要|我想|要|想|投诉|那个|这个|一下|师傅|阿姨|[\u4e00-\u9fff](?=师傅|阿姨)|[，,。！!\s]+"
)


def _reason_in(text: str, name: str) -> str:
    """What a complaint says beyond who ('乱收费 补个鞋要50块' of '那个张师傅乱收费 …')."""
    rest = text.replace(name, " ")
    return rest.strip() if len(_REASON_NOISE.sub("", rest)) >= 2 else ""


_BARE_COMPLAINT = re.compile(
    r"^(?:在吗|你好|喂)?[，,]?(?:我要|我想|要)?投诉(?:一下|个人|师傅|一个师傅|一位师傅)?$"
)


# 投诉 in `said`, maybe with spaces between (the filter drops them): a cheap test for routing.
@gate(kinds=[Kind.TEXT], test=re.compile("投 *诉").search)
def _complains_of_nobody(ctx: Context) -> bool:
    return ctx.msg.kind is Kind.TEXT and bool(_BARE_COMPLAINT.match(said(ctx).replace(" ", "")))


@router.message(_complains_of_nobody)
async def complaint_who(ctx: Context) -> HandlerResult:
    """ "我要投诉" naming nobody: the complaint form asks who (a craftsman) first."""
    return await forms.start(ctx, COMPLAINT_FORM, {}, intro="好的。")


async def _who(ctx: Context, data: forms.Data) -> int:
    text = said(ctx)
    listed = await _listed(ctx)
    bare = re.fullmatch(r"第?([1-9]|[一二三四五六七八九])", text)
    if bare and listed:  # "2" answering "投诉哪一位": its place in the list
        n = _CN.find(bare.group(1)) + 1 or int(bare.group(1))
        if not 1 <= n <= len(listed):
            raise Invalid(f"请回复1到{len(listed)}之间的序号。")
        data["name"] = listed[n - 1].name
        return listed[n - 1].id
    card = _named(text, listed)
    if card is not None and len(listed) > 1 and _only_a_pronoun(text, card):
        # "他多收钱了" with several just listed: which one is not guessed (the why is kept)
        reason = _PRONOUN.sub("", text).strip(" ，,。")
        if len(reason) >= 4 or _COMPLAINT.search(reason):
            data["reason"] = ctx.msg.text.strip()[:200]
        names = "；".join(f"{i}. {c.name}" for i, c in enumerate(listed[:5], 1))
        raise Invalid(f"投诉哪一位？回复序号或称呼：{names}")
    if card is not None:
        data["name"] = card.name
        reason = _reason_in(ctx.msg.text.strip(), card.name)
        if reason and _COMPLAINT.search(reason):
            data["reason"] = reason[:200]
        return card.id
    craftsman = await _craftsman_named(text)
    if craftsman is None:
        raise Invalid("没找到这位师傅。小区里的事（楼道、邻居、卫生）请说“找网格员”。")
    data["name"] = craftsman.name
    reason = _reason_in(ctx.msg.text.strip(), craftsman.name)
    if reason and _COMPLAINT.search(reason):
        data["reason"] = reason[:200]
    return craftsman.id


def _only_a_pronoun(text: str, card: Card) -> bool:
    """The card was found by 他/这个 alone, not by its name or its place in the list."""
    named = card.name in text or re.search(f"{re.escape(card.name[0])}(?:师傅|阿姨|老板)", text)
    return not named and not _ORDINAL.search(text)


async def start_complaint(ctx: Context, cid: int, name: str, text: str) -> HandlerResult:
    data = {"cid": cid, "name": name}
    reason = _reason_in(text, name)
    if reason:
        data["reason"] = reason[:200]
    return await forms.start(ctx, COMPLAINT_FORM, data, intro=f"要投诉{name}。")


async def _reason(ctx: Context, data: forms.Data) -> str:
    text = ctx.msg.text.strip() if ctx.msg.kind is Kind.TEXT else ""
    if len(text) < 2 or said(ctx) in forms.YES:  # "确认" is no reason
        raise Invalid("请说说是什么问题。")
    return text[:200]


async def _yes(ctx: Context, data: forms.Data) -> bool:
    answer = said(ctx)
    if answer in forms.YES or answer in {"投诉", "提交"}:
        return True
    raise Invalid("确认投诉请回复“确认”，不投诉了回复“算了”。")


async def _complain(ctx: Context, data: forms.Data) -> HandlerResult:
    try:
        await directory.complain(ctx.services.notify, data["cid"], ctx.user, data["reason"])
    except directory.DirectoryError as exc:
        return str(exc)
    return "收到您的投诉，社区会核实处理，不会告诉师傅是谁投诉的。"


COMPLAINT_FORM = Form(
    name="conversation.complaint",
    title="投诉",
    steps=[
        Step(
            "cid", "投诉哪位师傅？说称呼就行，比如“张师傅”。", _who, lambda d: "cid" in d,
        ),
        Step(
            "reason",
            lambda d: f"{d['name']}哪里做得不好？说说经过。",
            _reason,
            lambda d: "reason" in d,
            label="原因",
            names=r"原因|理由",
            free=True,
        ),
        Step(
            "confirm",
            lambda d: f"投诉{d['name']}：{d['reason']}\n确认投诉回复“确认”，不投诉了回复“算了”。",
            _yes,
        ),
    ],  # fmt: skip
    on_done=_complain,
)


_STARS = re.compile(r"([1-5]|[一二三四五])\s*(?:星|分|颗星)")


async def start_praise(ctx: Context, cid: int, name: str, text: str) -> HandlerResult:
    data: forms.Data = {"cid": cid, "name": name, "text": text[:200]}
    m = _STARS.search(text)
    if m:
        data["stars"] = _CN.find(m.group(1)) + 1 or int(m.group(1))
    return await forms.start(ctx, PRAISE_FORM, data, intro=f"谢谢您夸{name}！")


async def _stars(ctx: Context, data: forms.Data) -> int:
    text = said(ctx)
    m = _STARS.search(text) or re.fullmatch(r"([1-5]|[一二三四五])", text)
    if m is None:
        raise Invalid("请回复1到5的数字，5分最好。")
    return _CN.find(m.group(1)) + 1 or int(m.group(1))


async def _review(ctx: Context, data: forms.Data) -> HandlerResult:
    try:
        craftsman = await directory.review(
            ctx.redis, data["cid"], ctx.user, data["stars"], data["text"]
        )
    except directory.DirectoryError as exc:
        return str(exc)
    score = f"{craftsman.rating_avg:.1f}分（{craftsman.rating_count}人评价）"
    return f"谢谢评价！{craftsman.name}现在{score}。"


PRAISE_FORM = Form(
    name="conversation.praise",
    title="评价",
    steps=[
        Step(
            "stars",
            lambda d: f"给{d['name']}打几分？回复1到5，5分最好。",
            _stars,
            lambda d: "stars" in d,
            label="分数",
            names=r"\d分|[一二三四五]分|星",
        ),
    ],  # fmt: skip
    on_done=_review,
)


# ---- a form set aside ----------------------------------------------------------------------


_RESUME_WORDS = frozenset({"继续", "接着填", "接着", "继续填", "接着报名"})


@gate(kinds=[Kind.TEXT], texts=_RESUME_WORDS)
async def _resumes(ctx: Context) -> bool:
    if said(ctx) not in _RESUME_WORDS:
        return False
    return bool(await ctx.redis.exists(keys.scratch(ctx.conv, forms.SUSPENDED)))


@router.message(_resumes)
async def resume(ctx: Context) -> HandlerResult:
    """ "继续" after another request interrupted a form: that form again, at its step."""
    return await forms.resume_suspended(ctx)


# ---- side questions the parser left unknown ------------------------------------------------


# `forms.side_intent` reads the parse first: only an unknown or help intent has a side question.
@gate(kinds=[Kind.TEXT], intents=["unknown", "help"])
def _side_unknown(ctx: Context) -> bool:
    return ctx.msg.kind is Kind.TEXT and forms.side_intent(ctx) is not None


@router.message(_side_unknown)
async def side_question(ctx: Context) -> HandlerResult:
    """'多少钱', '几点开饭' that the parser calls unknown: the canteen's answer (a rule of the
    dialogue layer; the parser's intent wins whenever it has one)."""
    intent = forms.side_intent(ctx)
    assert intent is not None
    return await ctx.services.root_router().dispatch(forms.with_intent(ctx, intent))
