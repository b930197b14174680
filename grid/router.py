"""有事就找网格员: a resident's problem goes to the grid worker of their building."""

from __future__ import annotations

import json
import re

from bot import forms
from bot import texts as bot_texts
from bot.acts import strip_filler
from bot.context import PREFETCH, Context
from bot.forms import Form, Invalid, Step
from bot.messages import Kind, Reply
from bot.router import HandlerResult, Router, gate, gated, intent, kind, said, words
from bot.safety import unseen_neighbour
from community.buildings import AddressError, parse_building
from community.errors import DomainError
from community.numerals import cn_number
from community.phones import normalise_phone
from delivery.service import SELF, known_recipient
from grid import service, texts
from grid.service import second_people as second_people  # conversation/emergency.py uses it
from infra import keys
from models.grid import VolunteerStatus

router = Router("grid")
# Commands worded so they mean one thing only (我的待办, 办结 3 …, 我反映的事怎么样了): tried
# before the other features, whose searches would take "办结 3 灯已换好" for an electrician.
commands = Router("grid.commands")
# Photos and places (随手拍): tried right after the emergencies and before the system routes,
# which would answer a photo with "I read only text" and take a location for a search.
photos = Router("grid.photos", before_system=True)

# Scratch keys: the report just filed (a photo or place sent within JOIN_SECONDS joins it), and
# a place sent with nothing waiting (a photo or report that follows soon is about it).
LAST = "grid_last"
PLACE = "grid_place"
EMERGENCY = "emergency"  # conversation/emergency.py keeps the emergency's report id there
KEPT = "grid_photos_kept"  # photos sent while the emergency asked 哪栋楼 (JSON list, a day)
KEPT_TTL = 24 * 3600
EMERGENCY_FORM = "emergency.where"
# Read with every message's prefetch (one MGET): the check for waiting photos costs no round trip.
PREFETCH.append(lambda conv: keys.scratch(conv, KEPT))

_BARE = re.compile(
    r"^(我要|我想|请|帮我)?(找|联系|叫|呼叫|问问)?(一下)?(社区)?网格员?(在吗|电话|是谁)?$"
)
NO_PHONE = {"不留", "不用", "不要", "没有", "跳过", "算了"}


async def _problem(ctx: Context, data: forms.Data) -> str:
    if len(said(ctx)) < 2:
        raise Invalid("请用文字或语音说说是什么事。")
    if "where" not in data:  # words after a photo that say where too ("9号楼下水道堵了")
        try:
            data["where"], data["building"] = parse_building(said(ctx))
        except AddressError:
            pass
    return strip_filler(ctx.msg.text.strip())[:300]  # what the worker reads: no "嗯 那个"


async def _where(ctx: Context, data: forms.Data) -> str:
    try:
        place, building = parse_building(said(ctx))
    except AddressError as exc:
        raise Invalid(str(exc)) from None
    data["building"] = building
    return place


_phone = forms.phone_step(normalise_phone, NO_PHONE, "不想留电话就回复“不留”。")


async def _forward(ctx: Context, data: forms.Data) -> HandlerResult:
    # A neighbour not seen for days is urgent even with no sign of danger yet.
    urgent = unseen_neighbour(data["problem"])
    phone = data["phone"]
    volunteer = await service.approved_volunteer(ctx.user) if data.get("volunteer") else None
    try:
        report = await service.file_report(
            ctx.user, data["problem"], data["where"], data["building"], phone, ctx.now(),
            urgent=urgent, photos=data.get("photos"), at=data.get("at"), volunteer=volunteer,
        )  # fmt: skip
    except DomainError as exc:
        return exc.message
    # A photo or a place sent in the next minutes joins this report.
    await ctx.redis.set(keys.scratch(ctx.conv, LAST), str(report.pk), ex=service.JOIN_SECONDS)
    await ctx.redis.delete(keys.scratch(ctx.conv, PLACE))
    if volunteer is not None:
        return (
            f"谢谢您！已转给网格员（第{report.pk}号），他们会去处理。"
            "还有照片可以接着发。遇到急事请先打120、119、110。"
        )
    if urgent:
        return (
            "已记下，正在转告网格员，请他马上上门看看。敲门没人应、闻到异味或听到呼救，"
            "请马上打110请民警开门，需要时打120。"
        )
    later = "会尽快联系您" if phone else "会尽快上门看看"
    extra = f"（连同照片{len(report.photos)}张）" if report.photos else ""
    # Queued, not yet delivered: say so; if it cannot be delivered the resident is told.
    return (
        f"已记下，正在转告网格员{extra}，{later}。万一没送到，我会告诉您。"
        "有急事请拨打110或120。"
    )


REPORT_FORM = Form(
    name="grid.report",
    title="找网格员",
    steps=[
        Step(
            "problem", "请说说遇到了什么事，我转告网格员。", _problem, lambda d: "problem" in d,
            label="什么事", names=r"事情|问题", free=True,
            accepts=frozenset({"contact_grid_worker", "find_craftsman", "find_place"}),
        ),
        Step(
            "where",
            "在哪栋楼？比如“5号楼楼道”或“3号楼2单元401”。",
            _where,
            lambda d: "where" in d,
            label="地点", names=r"地址|地点|哪栋|号楼|栋|幢|单元|楼道",
        ),
        Step(
            "phone",
            "留个电话方便网格员联系您？不想留就回复“不留”。",
            _phone,
            lambda d: "phone" in d,
            label="电话", names=r"电话|手机|号码",
        ),
    ],  # fmt: skip
    on_done=_forward,
    own_intents=frozenset({"contact_grid_worker"}),
)


# ---- after the report: the grid worker's to-do list, closing one, the resident asking -------
# Each route is a cheap text match first; only a message that matches asks the database.

_TODO = re.compile(
    r"^(我的|俺的|今天的?)?(待办|待办事项|待处理|工单|待办的事)(列表|清单)?$"
    # as said: "俺手上有几件没办", "我还有哪些没处理的"
    r"|^(?:我|俺)?(?:手上|手头|这边)?还?有(?:几件|几个|几条|多少|哪些)(?:事|件)?"
    r"(?:没办|没处理|没办完|要处理|待办|待处理)(?:完)?的?(?:事)?(?:吗|呢|啊)?$"
)
# The report's number (#13, "办结 13", "13号"), or its place in 我的待办 ("第一条", "2条").
_NUM = r"(\d{1,9}|[一二两三四五六七八九十]{1,3})"
_CLOSE = re.compile(
    rf"^办结\s*(?:第|#|＃)?\s*{_NUM}\s*(号|条)?[\s:：,，。.、]*(.*)$"
    # "13号办完了 灯换好了", "第三条处理好了" (only from grid workers and admins: see _is_close)
    rf"|^(?:第|#|＃)?{_NUM}\s*(号|条)?\s*(?:已经)?(?:办结|办完|办好|处理好|处理完)了?"
    r"[\s:：,，。.、]*(.*)$",
    re.S,
)
# How `said` starts when _CLOSE matches the text without its filler (`command_text` strips no
# more than particles after the closing words): a cheap test for routing (bot.router.gated).
_CLOSE_SAID = re.compile(
    rf"办结|(?:第|#|＃)?{_NUM}\s*(?:号|条)?\s*(?:已经)?(?:办结|办完|办好|处理好|处理完)"
)
_CLOSE_ALONE = re.compile(r"^(?:办结|结案|销号)$")
# Asked as people ask: "我上回说的那个灯 修了没有", "俺报的下水道咋样了", "楼道灯修好了没".
_PROGRESS = (
    r"(?:怎么样|怎样|咋样|啥情况|有人管吗?|有人来吗?|有回音吗?|有结果吗?|"
    r"(?:修|弄|处理|解决|办|换)(?:好|完)?了?(?:没有?|吗|么|没呢)|"
    # "我报修的怎么还没人来": still waiting
    r"(?:怎么|咋)?还?没(?:人来|人管|人理|修|弄|处理|动静|回音|消息))"
)
_MINE = re.compile(
    r"^(我|我们|俺)?(之前|上次|前几天)?(反映|报|提|说|投诉)(过)?的(事情?|问题|情况|那件事)"
    r"(怎么样|怎样|处理|办|有结果|有进展|进展|解决)?.{0,8}$"
    r"|^我的反映$"
    r"|^(?:我|我们|俺)?(?:之前|上次|上回|前几天|前两天|昨天|前天|刚才|那天)?"
    rf"(?:反映|报修|报|提|说|投诉)(?:过)?的(?!名).{{0,12}}?{_PROGRESS}$"
    rf"|^[^\d，,。]{{1,10}}?(?:修好|弄好|处理好|换好|解决)了?(?:没有?|吗|么|没呢)$"
    # "上次找网格员那事咋样了", "我报修的那件事怎么还没人来"
    r"|^(?:我|俺)?(?:之前|上次|上回|前几天|前两天|昨天|前天)?(?:找网格员|找社区|报修|反映)"
    rf"(?:的|那|的那)?(?:件|个)?(?:事情?)?.{{0,6}}?{_PROGRESS}$"
)


@gate(kinds=[Kind.TEXT], test=_TODO.match)
def _is_todo(ctx: Context) -> bool:
    return bool(_TODO.match(said(ctx)))


@gate(kinds=[Kind.TEXT], test=_CLOSE_SAID.match)
async def _is_close(ctx: Context) -> bool:
    if ctx.msg.kind is not Kind.TEXT:
        return False
    m = _CLOSE.match(strip_filler(ctx.msg.text.strip()))
    if m is None:
        return False
    # "办结 3" is a command whoever says it; "3号办完了" only from those who close reports.
    return m.group(1) is not None or await service.may_handle(ctx.user)


def _close_said(text: str) -> tuple[int, bool, str] | None:
    """(number, whether it is a place in the list (第一条), note) of a closing said."""
    m = _CLOSE.match(strip_filler(text.strip()))
    if m is None:
        return None
    first = m.group(1) is not None
    number = cn_number(m.group(1) if first else m.group(4))
    unit = m.group(2) if first else m.group(5)
    note = (m.group(3) if first else m.group(6)) or ""
    return (number, unit == "条", note) if number else None


@gate(kinds=[Kind.TEXT], test=_MINE.match)
def _is_mine(ctx: Context) -> bool:
    return bool(_MINE.match(said(ctx)))


@commands.message(_is_todo, anywhere=True)
async def todo(ctx: Context) -> HandlerResult:
    """我的待办: a grid worker's open reports, urgent first."""
    try:
        return texts.todo(await service.open_reports(ctx.user))
    except DomainError as exc:
        return exc.message


@commands.message(_is_close, anywhere=True)
async def close(ctx: Context) -> HandlerResult:
    """办结 3 灯已换好: close report 3; the resident is told, with the note."""
    said_close = _close_said(ctx.msg.text)
    if said_close is None:
        return texts.CLOSE_HOW
    number, in_list, note = said_close
    try:
        if in_list:  # "第一条": the first of 我的待办 as listed
            number = (await service.listed_report(ctx.user, number)).pk
        report = await service.close_report(ctx.user, number, note, ctx.now())
    except DomainError as exc:
        return exc.message
    return texts.closed_for_worker(report)


@commands.message(
    gated(
        lambda ctx: bool(_CLOSE_ALONE.match(said(ctx))), kinds=[Kind.TEXT], test=_CLOSE_ALONE.match
    ),
    anywhere=True,
)
async def close_which(ctx: Context) -> HandlerResult:
    """办结 alone: which one, and how to say it."""
    return texts.CLOSE_HOW


@commands.message(_is_mine, anywhere=True)
async def my_reports(ctx: Context) -> HandlerResult:
    """我反映的事怎么样了: each of the resident's reports and its state."""
    return texts.mine(await service.reports_of(ctx.user))


# ---- a person, not a bot: 转人工 / 找个真人 / 打电话给社区 ------------------------------------

_HANDOFF = re.compile(
    r"^(我要|我想|请|帮我|给我|麻烦)?(转|接|找|要|叫|联系)?(一下)?(个)?"
    r"(人工|人工客服|人工服务|真人|活人|客服|社区工作人员|工作人员)(说话|聊聊|帮忙|来)?$"
    r"|^(我要|我想)?(打电话给社区|给社区打电话|打社区电话|联系社区)$"
    r"|^(社区|居委会?)(的)?(值班)?电话(是多少|多少)?$"
    # as said: "有没有人工", "我要跟人说话", "能不能找个人帮我", "给我社区电话"
    r"|^有没有(?:人工|真人|客服|活人)(?:客服|服务)?$"
    r"|^(?:我要|我想|能不能|可以|让我)?(?:跟|和)(?:真|活)?人(?:说话|聊聊?|讲)$"
    r"|^(?:能不能|可不可以|能|麻烦)?(?:找|叫)(?:个|一个)(?:真|活)?人(?:来)?(?:帮我|帮忙|帮帮我|帮下我)?$"
    r"|^(?:给我|告诉我)(?:社区|居委会?)(?:的)?(?:值班)?电话$"
)
# A person asked for among other words: "你是机器人吧 我要找真人".
_HANDOFF_SAID = re.compile(r"转人工|找真人|要真人|找个真人|找个活人|人工客服|真人客服")
# A character every hand-off above has (人工/真人/活人/工作人员, 客服, 电话, 联系社区): a cheap
# test for routing (bot.router.gated). Kept in step with _HANDOFF and _HANDOFF_SAID.
_HANDOFF_HINT = re.compile("[人客电社]")


@gate(kinds=[Kind.TEXT], test=_HANDOFF_HINT.search)
def _is_handoff(ctx: Context) -> bool:
    text = said(ctx)
    return bool(_HANDOFF.match(text)) or (len(text) <= 25 and bool(_HANDOFF_SAID.search(text)))


def _duty_phone(ctx: Context) -> str | None:
    return getattr(ctx.services.settings, "community_duty_phone", None)


async def _hand_off(ctx: Context, data: forms.Data) -> HandlerResult:
    try:
        await service.file_report(
            ctx.user, texts.HANDOFF_PROBLEM, data["where"], data["building"], data["phone"],
            ctx.now(), handoff=data.get("recent", []),
        )  # fmt: skip
    except DomainError as exc:
        duty = _duty_phone(ctx)
        return f"社区值班电话：{duty}，直接打过去就有人接。" if duty else exc.message
    return texts.handed_off(_duty_phone(ctx), data["phone"])


HANDOFF_FORM = Form(
    name="grid.handoff",
    title="找真人",
    steps=[
        Step(
            "where",
            "好的，我请您楼的网格员来帮您。您住哪栋楼？比如“3号楼2单元401”。",
            _where,
            lambda d: "where" in d,
            label="地点", names=r"地址|地点|哪栋|号楼|栋|幢|单元",
        ),
        Step(
            "phone",
            "留个电话方便网格员打给您？不想留就回复“不留”。",
            _phone,
            lambda d: "phone" in d,
            label="电话", names=r"电话|手机|号码",
        ),
    ],  # fmt: skip
    on_done=_hand_off,
)


@commands.message(_is_handoff, anywhere=True)
async def hand_off(ctx: Context) -> HandlerResult:
    """转人工 / 找个真人 / 打电话给社区: the duty phone, and the building's grid worker gets the
    resident's last few exchanges with the bot (so they need not say it all again)."""
    data: forms.Data = {"recent": await ctx.recent()}
    known = await known_recipient(ctx.user, SELF)
    if known is not None:
        data.update(where=known.address, building=known.building, phone=known.phone)
    elif (last := await service.last_place(ctx.user)) is not None:  # an earlier report said
        data.update(where=last.address, building=last.building)
        if last.phone:
            data["phone"] = last.phone
    return await forms.start(ctx, HANDOFF_FORM, data)


@router.message(intent("contact_grid_worker"))
async def report(ctx: Context) -> HandlerResult:
    data: forms.Data = {}
    text = said(ctx)
    if not _BARE.match(text):
        data["problem"] = strip_filler(ctx.msg.text.strip())[:300]
    try:  # "5号楼楼道灯坏了": the message says where
        data["where"], data["building"] = parse_building(text)
    except AddressError:
        pass
    await _with_kept_place(ctx, data)
    await _as_volunteer(ctx, data)
    known = await known_recipient(ctx.user, SELF)  # a delivery sign-up told us where they live
    if known is not None:
        if "where" not in data:
            data.update(where=known.address, building=known.building)
        data.setdefault("phone", known.phone)
    return await forms.start(ctx, REPORT_FORM, data)


# ---- photos and places: 随手拍 ------------------------------------------------------------------


def _place_into(data: forms.Data, at: service.Place) -> None:
    """A place sent as a location: the report's `at`, and its where when none was said (the
    building from the label when it names one; else every grid worker, or the area's, hears)."""
    data["at"] = at
    if "where" in data:
        return
    label = at.get("label") or ""
    try:
        place, building = parse_building(label)
    except AddressError:
        place, building = texts.place_where(label), ""
    data["where"], data["building"] = place[:64], building


async def _with_kept_place(ctx: Context, data: forms.Data) -> None:
    """A place sent a few minutes before (with nothing waiting for it) goes with the report."""
    raw = await ctx.redis.get(keys.scratch(ctx.conv, PLACE))
    if not raw:
        return
    try:
        lat, lng, label = raw.split("|", 2) if isinstance(raw, str) else raw.decode().split("|", 2)
        _place_into(data, service.place(float(lat), float(lng), label))
    except ValueError:
        return


async def _as_volunteer(ctx: Context, data: forms.Data) -> None:
    """An approved courier/rider: marked as a volunteer's report, their phone already known."""
    volunteer = await service.kept_volunteer(ctx.user)
    if volunteer is not None:
        data["volunteer"] = volunteer.pk
        data.setdefault("phone", volunteer.phone)


async def _just_filed(ctx: Context) -> int | None:
    """The report this conversation filed minutes ago (a report, or an emergency's alert)."""
    for name in (LAST, EMERGENCY):
        raw = await ctx.redis.get(keys.scratch(ctx.conv, name))
        text = raw.decode() if isinstance(raw, bytes) else raw
        if text and text.isdigit():
            return int(text)
    return None


async def _report_form(ctx: Context) -> forms.Data | None:
    state = await forms.active(ctx)
    return state[2] if state is not None and state[0] is REPORT_FORM else None


async def _emergency_report(ctx: Context) -> int | None:
    raw = await ctx.redis.get(keys.scratch(ctx.conv, EMERGENCY))
    return int(raw) if raw and str(raw).isdigit() else None


async def _kept_photos(ctx: Context) -> list[service.Photo]:
    raw = await ctx.redis.get(keys.scratch(ctx.conv, KEPT))
    try:
        kept = json.loads(raw) if raw else []
    except ValueError:
        return []
    if not isinstance(kept, list):
        return []
    return [p for p in kept if isinstance(p, dict) and p.get("url")]


async def _photos_for_emergency(ctx: Context) -> bool:
    """Photos were waiting (for their words, or while the emergency asked 哪栋楼) and an emergency
    has just been reported (conversation/emergency.py filed its own urgent report): they belong
    to that report. Tried on every message: the form and the kept photos are prefetched, so
    only a message with photos waiting asks Redis for the emergency."""
    data = await _report_form(ctx)
    waiting = bool(data and data.get("photos") and "problem" not in data)
    if not waiting and not await _kept_photos(ctx):
        return False
    return await _emergency_report(ctx) is not None


@photos.message(_photos_for_emergency)  # first: a photo sent now goes the same way after
async def photos_to_emergency(ctx: Context) -> HandlerResult:
    report_id = await _emergency_report(ctx)
    assert report_id is not None
    waiting = await _kept_photos(ctx)
    await ctx.redis.delete(keys.scratch(ctx.conv, KEPT))
    data = await _report_form(ctx)
    if data is not None and data.get("photos") and "problem" not in data:
        waiting += data["photos"]
        await forms.clear(ctx)
    told: list[Reply] = []
    for kept in waiting:
        try:
            await service.add_to_report(ctx.user, report_id, ctx.now(), new_photo=kept)
        except DomainError:
            break
        told = [Reply(texts.JOINED_EMERGENCY)]
    # The message itself is answered as if no photo had been waiting.
    again = await ctx.services.root_router().dispatch(Context(ctx.msg, ctx.services, ctx.state))
    return [*told, *(again or [])]


@commands.message(words("随手拍", "我要随手拍", "拍照反映", "怎么随手拍", "随手拍怎么用"))
async def how_to_snap(ctx: Context) -> HandlerResult:
    """随手拍 said in words: how to send one."""
    return texts.HOW_TO_SNAP


@gate(kinds=[Kind.IMAGE])
def _no_image(ctx: Context) -> bool:
    return ctx.msg.kind is Kind.IMAGE and ctx.msg.image is None


@photos.message(_no_image)
async def unreadable_photo(ctx: Context) -> HandlerResult:
    """An image message without its URL (malformed): asked again, nothing kept."""
    return texts.PHOTO_UNREADABLE


@photos.message(kind(Kind.IMAGE))
async def photo(ctx: Context) -> HandlerResult:
    """A photo: into the report being told, else onto the report just filed, else it starts
    one (随手拍) and the bot asks what and where. Never dropped."""
    assert ctx.msg.image is not None
    new = service.photo(ctx.msg.image.url, ctx.msg.image.media_id)
    data = await _report_form(ctx)
    if data is not None:
        kept = data.setdefault("photos", [])
        if len(kept) >= service.PHOTOS_MAX:
            too_many = texts.TOO_MANY_PHOTOS.format(n=service.PHOTOS_MAX)
            return [too_many, *(await forms.repeat(ctx) or [])]
        kept.append(new)
        intro = texts.PHOTO_IN_FORM.format(n=len(kept))
        return await forms.start(ctx, REPORT_FORM, data, intro=intro)
    if not await forms.has_active(ctx) and (report_id := await _just_filed(ctx)) is not None:
        report = await service.recent_report(ctx.user, report_id)
        if report is not None:
            try:
                report = await service.add_to_report(ctx.user, report.pk, ctx.now(), new_photo=new)
            except DomainError as exc:
                return exc.message
            return texts.joined(report, "照片")
    state = await forms.active(ctx)
    if state is not None and state[0].name == EMERGENCY_FORM:
        # The emergency asks 哪栋楼 first: the photo is kept for its report, the question stays.
        kept = [*await _kept_photos(ctx), new][-service.PHOTOS_MAX :]
        value = json.dumps(kept, ensure_ascii=False)
        await ctx.redis.set(keys.scratch(ctx.conv, KEPT), value, ex=KEPT_TTL)
        return [texts.PHOTO_FIRST, *(await forms.repeat(ctx) or [])]
    if state is not None:
        await forms.suspend(ctx)  # a sign-up under way waits; offered again afterwards
    data = {"photos": [new]}
    await _with_kept_place(ctx, data)
    await _as_volunteer(ctx, data)
    return await forms.start(ctx, REPORT_FORM, data, intro=texts.PHOTO_FIRST)


@gate(kinds=[Kind.LOCATION])
async def _place_for_grid(ctx: Context) -> bool:
    """A usable location the grid takes: the report being told, or nothing else waits for it (no
    other form, no search waiting for the resident's location)."""
    where = ctx.msg.location
    if ctx.msg.kind is not Kind.LOCATION or where is None or not where.usable:
        return False
    if await _report_form(ctx) is not None:
        return True
    if await forms.has_active(ctx) or await ctx.redis.get(keys.pending(ctx.conv)):
        return False
    return True


@photos.message(_place_for_grid)
async def place(ctx: Context) -> HandlerResult:
    """A location: into the report being told; onto the report just filed; for an approved
    courier/rider it starts a 随手拍; for a resident it is kept a few minutes for a report or a
    photo that follows (and remembered for searches, as any location)."""
    where = ctx.msg.location
    assert where is not None
    await ctx.remember_location(where)
    at = service.place(where.lat, where.lng, where.label)
    data = await _report_form(ctx)
    if data is not None:
        _place_into(data, at)
        return await forms.start(ctx, REPORT_FORM, data, intro=texts.PLACE_IN_FORM)
    if (report_id := await _just_filed(ctx)) is not None:
        report = await service.recent_report(ctx.user, report_id)
        if report is not None:
            try:
                report = await service.add_to_report(ctx.user, report.pk, ctx.now(), at=at)
            except DomainError as exc:
                return exc.message
            return texts.joined(report, "位置")
    if await service.kept_volunteer(ctx.user) is not None:
        data = {}
        _place_into(data, at)
        await _as_volunteer(ctx, data)
        return await forms.start(ctx, REPORT_FORM, data, intro=texts.PLACE_FIRST)
    kept = f"{at['lat']}|{at['lng']}|{at['label']}"
    await ctx.redis.set(keys.scratch(ctx.conv, PLACE), kept, ex=service.JOIN_SECONDS)
    return bot_texts.LOCATION_SAVED + texts.PLACE_KEPT


# ---- couriers and riders register as volunteers (随手拍 on their rounds) ------------------------

_COURIER_WORDS = r"快递|送件|顺丰|京东|中通|圆通|韵达|申通|邮政|极兔|菜鸟"
_RIDER_WORDS = r"外卖|骑手|美团|饿了么|闪送|跑腿"
_COURIER = re.compile(_COURIER_WORDS)
_RIDER = re.compile(_RIDER_WORDS)
_TRADE_WORDS = _COURIER_WORDS + "|" + _RIDER_WORDS
_VOLUNTEER = re.compile(
    r"^(?:我是|我在|俺是)?.{0,12}?(?:" + _TRADE_WORDS + r").{0,12}?"
    r"(?:想|要|能|可以|愿意)?(?:当|做|成为|注册|登记|报名)(?:个|一名|一个)?(?:社区)?志愿者"
    r"|^(?:我要|我想|我想要)?(?:注册|登记|报名|申请)(?:当|成为)?(?:社区)?志愿者$"
    r"|^(?:社区)?志愿者(?:注册|登记|报名)$"
    r"|^随手拍志愿者(?:注册|登记|报名)?$"
)


@gate(kinds=[Kind.TEXT], test=_VOLUNTEER.match)
def _is_volunteer_signup(ctx: Context) -> bool:
    return bool(_VOLUNTEER.match(said(ctx)))


def _trade_of(text: str) -> str:
    if _RIDER.search(text):
        return "外卖骑手"
    return "快递员" if _COURIER.search(text) else ""


async def _v_name(ctx: Context, data: forms.Data) -> str:
    name = re.sub(r"^(?:我叫|我是|叫|姓名|名字)[:：]?", "", said(ctx)).strip()
    if not 1 <= len(name) <= 16 or re.search(r"\d", name):
        raise Invalid("请回复您的姓名，比如“王师傅”或“王小明”。")
    return name


_v_phone = forms.phone_step(normalise_phone)


async def _v_area(ctx: Context, data: forms.Data) -> str:
    area = said(ctx)
    if not 2 <= len(area) <= 64:
        raise Invalid("请说说您平时送哪一片，比如“幸福里小区”或“1-10号楼”。")
    return area


async def _v_company(ctx: Context, data: forms.Data) -> str:
    company = said(ctx)
    if not 1 <= len(company) <= 32:
        raise Invalid("请说说您在哪家公司，比如“顺丰快递”或“美团外卖”。")
    data["trade"] = data.get("trade") or _trade_of(company) or "快递外卖"
    return company


async def _v_register(ctx: Context, data: forms.Data) -> HandlerResult:
    try:
        await service.register_volunteer(
            ctx.user, data["name"], data["phone"], data["area"], data["company"],
            data.get("trade") or "快递外卖",
        )  # fmt: skip
    except DomainError as exc:
        return exc.message
    return texts.VOLUNTEER_REGISTERED


VOLUNTEER_FORM = Form(
    name="grid.volunteer",
    title="志愿者登记",
    steps=[
        Step(
            "name",
            "欢迎！快递员、外卖骑手可以登记成社区志愿者，送件路上看到问题拍张照片发给我，"
            "我转给网格员。\n先说说您的姓名？",
            _v_name, lambda d: "name" in d, label="姓名", names=r"姓名|名字",
        ),
        Step(
            "phone", "您的手机号？", _v_phone, lambda d: "phone" in d,
            label="电话", names=r"电话|手机|号码",
        ),
        Step(
            "area", "您平时送哪一片？比如“幸福里小区”或“1-10号楼”。", _v_area,
            lambda d: "area" in d, label="片区", names=r"片区|哪一片|区域",
        ),
        Step(
            "company", "在哪家公司？比如“顺丰快递”“美团外卖”。", _v_company,
            lambda d: "company" in d, label="公司", names=r"公司",
        ),
    ],  # fmt: skip
    on_done=_v_register,
)


@commands.message(_is_volunteer_signup)
async def volunteer_signup(ctx: Context) -> HandlerResult:
    """我是快递员 想当志愿者 / 注册志愿者: the short form, then an admin approves."""
    found = await service.volunteer_of(ctx.user)
    if found is not None and found.status is VolunteerStatus.APPROVED:
        return texts.ALREADY_VOLUNTEER
    data: forms.Data = {}
    if trade := _trade_of(said(ctx)):
        data["trade"] = trade
    return await forms.start(ctx, VOLUNTEER_FORM, data)
