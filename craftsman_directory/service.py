"""Directory rules: register, update, approve, pause, suspend, review, complain.

Every change to a craftsman goes through here so the Redis index stays in step with the
database, and the people concerned are told.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from tortoise.functions import Avg

from bot.context import Notifier
from bot.nlu.labels import CATEGORIES
from community import clock, geo, hours
from community.errors import DomainError
from community.phones import normalise_phone as normalise_phone  # re-exported
from community.roles import admin_openids, is_admin
from craftsman_directory import index
from infra import keys
from infra.kept import Kept
from infra.orm import flat
from infra.redis import awaitable
from models.directory import Complaint, Craftsman, ListingChange, Review, Source, Status
from models.push import PushChannel
from models.users import User
from push.outbox import enqueue_text

UPHELD_TO_SUSPEND = 3

NAMES_ZH: dict[str, str] = {
    "tailor": "裁缝",
    "shoe_repair": "修鞋",
    "key_lock": "开锁配钥匙",
    "appliance_repair": "家电维修",
    "phone_repair": "手机电脑维修",
    "bike_repair": "修车",
    "plumbing_electric": "水电维修",
    "housekeeping": "家政",
    "haircut": "理发",
    "knife_sharpening": "磨刀",
    "watch_repair": "修表",
    "furniture_repair": "家具维修",
    "recycling": "废品回收",
}
_ALIASES: dict[str, str] = {
    **{zh: cat for cat, zh in NAMES_ZH.items()},
    "缝补": "tailor",
    "改衣服": "tailor",
    "开锁": "key_lock",
    "配钥匙": "key_lock",
    "修家电": "appliance_repair",
    "家电": "appliance_repair",
    "修手机": "phone_repair",
    "修电脑": "phone_repair",
    "手机维修": "phone_repair",
    "自行车电动车维修": "bike_repair",
    "修自行车": "bike_repair",
    "修电动车": "bike_repair",
    "自行车": "bike_repair",
    "电动车": "bike_repair",
    "水电": "plumbing_electric",
    "水电工": "plumbing_electric",
    "电工": "plumbing_electric",
    "水管": "plumbing_electric",
    "保洁": "housekeeping",
    "钟点工": "housekeeping",
    "保姆": "housekeeping",
    "月嫂": "housekeeping",
    "护工": "housekeeping",
    "剃头": "haircut",
    "磨剪刀": "knife_sharpening",
    "修钟表": "watch_repair",
    "钟表": "watch_repair",
    "木工": "furniture_repair",
    "家具": "furniture_repair",
    "修家具": "furniture_repair",
    "回收": "recycling",
    "收废品": "recycling",
    "废品": "recycling",
}

# A request the directory cannot carry out; the message is shown to the user. Every domain
# raises the one community error type, so a transport catches one thing.
DirectoryError = DomainError


def category_name(cat: str) -> str:
    return NAMES_ZH.get(cat, cat)


def parse_categories(text: str) -> list[str]:
    """'裁缝、修鞋' / 'tailor,shoe_repair' / '我会改衣服' → category ids; raises DirectoryError."""
    out: list[str] = []
    for part in re.split(r"[、,，;；/和\s]+", text.strip()):
        if not part:
            continue
        cat = part if part in CATEGORIES else _ALIASES.get(part)
        if cat is None:
            from bot.nlu import parse

            cat = parse(f"找{part}").category  # symptoms and synonyms the NLU already knows
        if cat is None:
            raise DirectoryError(f"“{part}”不在目录的行当里")
        if cat not in out:
            out.append(cat)
    if not out:
        raise DirectoryError("没写行当")
    return out


def check_name(text: str) -> str:
    """The name residents will see ("王师傅"); raises DirectoryError."""
    value = text.strip()
    if not 1 <= len(value) <= 20:
        raise DirectoryError("称呼要1到20个字")
    if re.search(r"\d{5,}", value):
        raise DirectoryError("称呼里不要写电话，电话最后再填")
    return value


async def visible_to(craftsman: Craftsman, openid: str) -> bool:
    """Approved entries are public; others only to their craftsman and to admins."""
    if craftsman.status is Status.APPROVED or (craftsman.openid and craftsman.openid == openid):
        return True
    return await is_admin(openid)


def guess_compound(address: str) -> str | None:
    """'幸福小区3号楼2单元' → '幸福小区' (the part residents type to mean 'near me')."""
    m = re.search(
        r"([\u4e00-\u9fa5A-Za-z0-9]{2,12}?(?:小区|花园|公寓|新村|家园|苑|里|坊|村|城))", address
    )
    return m.group(1) if m else None


# ---- people to tell --------------------------------------------------------------------------


# ---- walking pace ------------------------------------------------------------------------------

ELDERLY_TTL = 3600  # seconds a user's walking pace is cached (it changes very rarely)


async def walks_slowly(redis: Redis, openid: str) -> bool:
    """User.elderly, through a short Redis cache: a database query per search cost more than
    the whole GEO search."""
    key = keys.elderly(openid)
    cached = await redis.get(key)
    if cached is not None:
        return cached in (b"1", "1")
    user = await User.get_or_none(openid=openid)
    value = bool(user and user.elderly)
    await redis.set(key, int(value), ex=ELDERLY_TTL)
    return value


async def set_walking_pace(redis: Redis, openid: str, elderly: bool) -> None:
    """Searches for this user reckon with an elderly pace (45 m a minute), or a normal one."""
    user, _ = await User.get_or_create(openid=openid)
    if user.elderly != elderly:
        user.elderly = elderly
        await user.save(update_fields=["elderly"])
    await redis.set(keys.elderly(openid), int(elderly), ex=ELDERLY_TTL)


async def notify_admins(notify: Notifier, text: str) -> None:
    for openid in await admin_openids():
        await notify(openid, text)


async def _tell(notify: Notifier, craftsman: Craftsman, text: str) -> None:
    if craftsman.openid:
        await notify(craftsman.openid, text)


# ---- registration and status -----------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    name: str
    categories: list[str]
    description: str
    lat: float
    lng: float
    address: str
    compound: str | None
    hours: str
    phone: str


async def register(
    redis: Redis, notify: Notifier, openid: str, reg: Registration
) -> tuple[Craftsman, bool]:
    """Self-registration: new entries wait for an admin; a second registration updates."""
    fields: dict[str, Any] = {
        "name": reg.name,
        "categories": reg.categories,
        "description": reg.description,
        "lat": reg.lat,
        "lng": reg.lng,
        "address": reg.address,
        "compound": reg.compound,
        "hours": reg.hours,
        "phone": reg.phone,
        "home_visits": "上门" in reg.description,
    }
    existing = await Craftsman.get_or_none(openid=openid)
    if existing is None:
        craftsman = await Craftsman.create(
            openid=openid, source=Source.SELF, status=Status.PENDING, **fields
        )
        await notify_admins(
            notify,
            f"新师傅登记待审核：#{craftsman.id} {reg.name}（{_cats(reg.categories)}）"
            f"{reg.phone}。回复“通过 {craftsman.id}”或“拒绝 {craftsman.id}”。",
        )
        return craftsman, True
    existing.update_from_dict(fields)
    await existing.save()
    await index.sync(redis, existing)
    await notify_admins(notify, f"师傅 #{existing.id} {reg.name} 更新了登记信息。")
    return existing, False


def _cats(categories: list[str]) -> str:
    return "、".join(category_name(c) for c in categories)


async def find(craftsman_id: int) -> Craftsman | None:
    return await Craftsman.get_or_none(pk=craftsman_id)


async def with_status(status: Status, limit: int = 50) -> list[Craftsman]:
    """Craftsmen in one status (the admins' queues), oldest registration first."""
    return await Craftsman.filter(status=status).order_by("id").limit(limit)


async def find_complaint(complaint_id: int) -> Complaint | None:
    return await Complaint.get_or_none(pk=complaint_id).prefetch_related("craftsman")


async def open_complaints(limit: int = 50) -> list[Complaint]:
    """Complaints not yet decided, oldest first, with their craftsman."""
    return (
        await Complaint.filter(upheld=None)
        .order_by("id")
        .limit(limit)
        .prefetch_related("craftsman")
    )


async def _get(craftsman_id: int) -> Craftsman:
    craftsman = await Craftsman.get_or_none(id=craftsman_id)
    if craftsman is None:
        raise DirectoryError(f"没有编号为 {craftsman_id} 的师傅")
    return craftsman


async def set_status(redis: Redis, craftsman: Craftsman, status: Status) -> Craftsman:
    craftsman.status = status
    await craftsman.save(update_fields=["status", "updated_at"])
    await index.sync(redis, craftsman)
    return craftsman


async def approve(redis: Redis, notify: Notifier, craftsman_id: int) -> Craftsman:
    """A new registration, or an approved craftsman's changes waiting for the community."""
    craftsman = await _get(craftsman_id)
    if craftsman.status is not Status.PENDING and await _decide_changes(
        redis, notify, craftsman, accept=True
    ):
        return craftsman
    if craftsman.status is not Status.PENDING:
        raise DirectoryError(f"#{craftsman_id} 不在待审核状态（{craftsman.status.value}）")
    await set_status(redis, craftsman, Status.APPROVED)
    await _tell(notify, craftsman, "您的师傅登记已通过审核，居民现在可以找到您了。")
    return craftsman


async def reject(redis: Redis, notify: Notifier, craftsman_id: int) -> Craftsman:
    """A registration the community does not accept is removed (nothing else refers to it)."""
    craftsman = await _get(craftsman_id)
    if craftsman.status is not Status.PENDING and await _decide_changes(
        redis, notify, craftsman, accept=False
    ):
        return craftsman  # only the changes are refused; the listing stays as it was
    if craftsman.status is not Status.PENDING:
        raise DirectoryError(f"#{craftsman_id} 不在待审核状态")
    await craftsman.delete()
    await index.remove(redis, craftsman_id)
    await _tell(notify, craftsman, "抱歉，您的师傅登记没有通过审核。有疑问请联系社区。")
    return craftsman


async def reinstate(redis: Redis, notify: Notifier, craftsman_id: int) -> Craftsman:
    craftsman = await _get(craftsman_id)
    if craftsman.status not in (Status.SUSPENDED, Status.PAUSED):
        raise DirectoryError(f"#{craftsman_id} 没有被暂停或停用")
    await set_status(redis, craftsman, Status.APPROVED)
    await _tell(notify, craftsman, "社区已恢复您在师傅目录中的展示。")
    return craftsman


# A timed pause is for a holiday or a busy stretch; longer than this, 暂停接单 (no end) fits.
PAUSE_MAX_DAYS = 92


async def pause_own(
    redis: Redis,
    openid: str,
    pause: bool,
    until: dt.date | None = None,
    today: dt.date | None = None,
) -> Craftsman:
    """A craftsman hides (暂停接单), hides until a day (休息到下周一: back that day by itself) or
    shows (恢复接单) their own entry."""
    craftsman = await Craftsman.get_or_none(openid=openid)
    if craftsman is None:
        raise DirectoryError("您还没有登记为师傅。说“师傅登记”开始。", code="not_craftsman")
    today = today or clock.today()
    timed = craftsman.paused_until is not None and craftsman.paused_until > today
    if until is not None:
        if until <= today:
            raise DirectoryError(
                "休息到哪天？请说以后的日子，比如“休息到下周一”。", code="past", field="until"
            )
        if (until - today).days > PAUSE_MAX_DAYS:
            raise DirectoryError(
                "最多暂停三个月。更久的话说“暂停接单”，回来时说“恢复接单”。",
                code="too_long",
                field="until",
            )
        if craftsman.status not in (Status.APPROVED, Status.PAUSED):
            raise DirectoryError(f"您的登记现在是“{STATUS_ZH[craftsman.status]}”，不能这样改。")
        craftsman.paused_until = until
        await craftsman.save(update_fields=["paused_until", "updated_at"])
        return await set_status(redis, craftsman, Status.APPROVED)
    if pause:
        if craftsman.status is Status.PAUSED:
            raise DirectoryError("您已经暂停接单了。回来时说“恢复接单”。", code="paused")
        if craftsman.status is not Status.APPROVED:
            raise DirectoryError(f"您的登记现在是“{STATUS_ZH[craftsman.status]}”，不能这样改。")
    elif craftsman.status is Status.APPROVED and not timed:
        raise DirectoryError("您现在就在正常接单，居民能找到您。", code="not_paused")
    elif craftsman.status is not Status.PAUSED and not timed:
        raise DirectoryError(f"您的登记现在是“{STATUS_ZH[craftsman.status]}”，不能这样改。")
    craftsman.paused_until = None
    await craftsman.save(update_fields=["paused_until", "updated_at"])
    return await set_status(redis, craftsman, Status.PAUSED if pause else Status.APPROVED)


@dataclass(frozen=True)
class MonthStats:
    month: int
    found: int  # times shown on a search's first page
    reviews: int
    stars: float  # average of this month's reviews (0 when none)
    complaints: int


async def month_stats(redis: Redis, openid: str, now: dt.datetime) -> MonthStats:
    """我的数据: how often the craftsman was found this month, and what residents said. Calls
    are not counted: the phone number is in the list, and residents dial it outside WeChat."""
    craftsman = await Craftsman.get_or_none(openid=openid)
    if craftsman is None:
        raise DirectoryError("您还没有登记为师傅。说“师傅登记”开始。", code="not_craftsman")
    found = await awaitable(redis.hget(keys.directory_found(f"{now:%Y-%m}"), str(craftsman.pk)))
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    reviews = await Review.filter(craftsman=craftsman, created_at__gte=start)
    complaints = await Complaint.filter(craftsman=craftsman, created_at__gte=start).count()
    stars = sum(r.stars for r in reviews) / len(reviews) if reviews else 0.0
    return MonthStats(now.month, int(found or 0), len(reviews), stars, complaints)


def month_stats_text(s: MonthStats) -> str:
    said = f"您{s.month}月的数据：被居民搜到{s.found}次（出现在搜索结果第一页）"
    if s.reviews:
        said += f"，收到{s.reviews}条评价（平均{s.stars:.1f}分）"
    if s.complaints:
        said += f"，{s.complaints}条投诉"
    return said + "。居民是直接打您电话的，打了几次这里统计不到。"


STATUS_ZH = {
    Status.PENDING: "待审核",
    Status.APPROVED: "已通过",
    Status.PAUSED: "暂停接单",
    Status.SUSPENDED: "已停用",
}


# ---- reviews and complaints ------------------------------------------------------------------


async def review(
    redis: Redis, craftsman_id: int, reviewer: str, stars: int, text: str
) -> Craftsman:
    if not 1 <= stars <= 5:
        raise DirectoryError("星级是1到5")
    craftsman = await _get(craftsman_id)
    await Review.update_or_create(
        craftsman=craftsman,
        reviewer=reviewer,
        # A new review makes the craftsman's answer to the old one stale.
        defaults={"stars": stars, "text": text[:200], "reply": None, "replied_at": None},
    )
    stars_given = await flat(Review.filter(craftsman=craftsman).values_list("stars", flat=True))
    craftsman.rating_count = len(stars_given)
    craftsman.rating_avg = round(sum(stars_given) / len(stars_given), 2)
    await craftsman.save(update_fields=["rating_avg", "rating_count", "updated_at"])
    await index.sync(redis, craftsman)  # the card shows the rating
    return craftsman


async def complain(notify: Notifier, craftsman_id: int, complainant: str, reason: str) -> Complaint:
    craftsman = await _get(craftsman_id)
    complaint = await Complaint.create(
        craftsman=craftsman, complainant=complainant, reason=reason[:200]
    )
    # Admins see the craftsman and the reason, never who complained.
    await notify_admins(
        notify,
        f"投诉#{complaint.id}：师傅 #{craftsman.id} {craftsman.name}，原因：{reason[:100]}。"
        f"核实后回复“成立 {complaint.id}”或“不成立 {complaint.id}”。",
    )
    return complaint


async def decide_complaint(
    redis: Redis, notify: Notifier, complaint_id: int, upheld: bool
) -> tuple[Complaint, bool]:
    """Record an admin's decision; the third upheld one suspends. Returns (complaint, suspended)."""
    complaint = await Complaint.get_or_none(id=complaint_id).prefetch_related("craftsman")
    if complaint is None:
        raise DirectoryError(f"没有编号为 {complaint_id} 的投诉")
    complaint.upheld = upheld
    await complaint.save(update_fields=["upheld"])
    craftsman = complaint.craftsman
    if not upheld:
        return complaint, False
    count = await Complaint.filter(craftsman=craftsman, upheld=True).count()
    if count >= UPHELD_TO_SUSPEND and craftsman.status in (Status.APPROVED, Status.PAUSED):
        await set_status(redis, craftsman, Status.SUSPENDED)
        await _tell(
            notify,
            craftsman,
            f"因{count}次投诉经社区核实成立，您在师傅目录中的展示已暂停。"
            f"最近一次原因：{complaint.reason}。如有异议请联系社区。",
        )
        return complaint, True
    return complaint, False


# ---- compounds -------------------------------------------------------------------------------


async def compound_location(text: str) -> tuple[str, float, float] | None:
    """A typed compound name → (name, lat, lng): the centre of craftsmen known there."""
    from rapidfuzz import fuzz, process

    typed = text.strip()
    if len(typed) < 2:
        return None
    centres = await _compounds.get("centres", _compound_centres)
    names = list(centres)
    match = next((n for n in names if n in typed or (len(typed) >= 2 and typed in n)), None)
    if match is None and names:
        best = process.extractOne(typed, names, scorer=fuzz.ratio)
        if best and best[1] >= 75:
            match = best[0]
    if match is None:
        return None
    lat, lng = centres[match]
    return match, lat, lng


# Compound centres change only when craftsmen do: kept in process, dropped by any craftsman's
# save (infra/kept.py). With 100k craftsmen, reading them per search was most of its cost.
_compounds = Kept(60.0, Craftsman, fields=frozenset({"compound", "lat", "lng"}))


async def _compound_centres() -> dict[str, tuple[float, float]]:
    """Each compound's centre: the mean of its craftsmen's points on the map, in one query."""
    rows = (
        Craftsman.filter(
            compound__not_isnull=True,
            # On the map only: one NaN or infinite row would poison the centre for everyone
            # (a NaN compares false: PostgreSQL orders it above every number, SQLite keeps it
            # as NULL).
            lat__gte=-geo.GEO_LAT_MAX,
            lat__lte=geo.GEO_LAT_MAX,
            lng__gte=-180,
            lng__lte=180,
        )
        .group_by("compound")
        .annotate(c_lat=Avg("lat"), c_lng=Avg("lng"))
        .values_list("compound", "c_lat", "c_lng")
    )
    return {name: (float(lat), float(lng)) for name, lat, lng in await flat(rows) if name}


# ---- a craftsman changing their own listing --------------------------------------------------

# A move farther than this from where the community approved the stall waits for its approval
# (a stall across the district is a new listing in all but name); a move within it does not.
MOVE_REVIEW_M = 2000.0
NOT_CRAFTSMAN = "您还没有登记为师傅。说“师傅登记”开始。"


async def own_listing(openid: str) -> Craftsman:
    """The listing of the craftsman behind `openid`; nobody else's can be changed by them."""
    craftsman = await Craftsman.get_or_none(openid=openid)
    if craftsman is None:
        raise DirectoryError(NOT_CRAFTSMAN, code="not_craftsman")
    return craftsman


@dataclass(frozen=True)
class Changed:
    craftsman: Craftsman
    said: str  # the one line saying what changed ("营业时间改为每天8:00–18:00")
    pending: bool  # waits for the community's approval before residents see it


async def _change(
    redis: Redis,
    notify: Notifier,
    craftsman: Craftsman,
    field: str,
    old: str,
    new: str,
    values: dict[str, Any],
    *,
    review: bool = False,
) -> Changed:
    """Record the change (the console's history), then apply it at once, or, for a change the
    community must see first on an entry it already approved, keep it for its approval."""
    pending = review and craftsman.status is not Status.PENDING
    # A newer change of the same thing replaces a request not yet decided (a far move, then a
    # near one: the near one holds, and a later 通过 must not carry the far one out). Trades
    # are requested one at a time (add_trade): each waits on its own.
    if field != "categories":
        await ListingChange.filter(craftsman=craftsman, field=field, pending=True).delete()
    await ListingChange.create(
        craftsman=craftsman,
        field=field,
        old=old[:500],
        new=new[:500],
        values=values,
        by=craftsman.openid or "",
        pending=pending,
    )
    said = f"{FIELD_ZH[field]}改为{new}"
    if pending:
        await notify_admins(
            notify,
            f"师傅 #{craftsman.id} {craftsman.name} 申请{said}（原来：{old or '无'}）。"
            f"回复“通过 {craftsman.id}”同意，“拒绝 {craftsman.id}”不同意。",
        )
        return Changed(craftsman, said, True)
    values = _fields_now(craftsman, values)
    craftsman.update_from_dict(values)
    await craftsman.save(update_fields=[*values, "updated_at"])
    await index.sync(redis, craftsman)
    return Changed(craftsman, said, False)


def _fields_now(craftsman: Craftsman, values: dict[str, Any]) -> dict[str, Any]:
    """A change's values as the row's fields today. A new trade is kept as the one added, not
    the whole list when asked: a trade dropped while the request waited stays dropped."""
    values = dict(values)
    added = values.pop("add_trade", None)
    if isinstance(added, str):
        values["categories"] = [*(c for c in craftsman.categories if c != added), added]
    return values


FIELD_ZH = {
    "hours": "营业时间",
    "description": "服务和价格",
    "categories": "行当",
    "location": "摊位地址",
    "home_visits": "上门服务",
    "phone": "电话",
}


async def change_hours(redis: Redis, notify: Notifier, openid: str, text: str) -> Changed:
    """营业时间改成每天8点到下午6点: the new opening hours replace the old ones."""
    craftsman = await own_listing(openid)
    try:
        parsed = hours.parse(text).text
    except hours.HoursError as exc:
        raise DirectoryError(f"营业时间没看懂：{exc}。", code="hours", field="hours") from None
    return await _change(
        redis, notify, craftsman, "hours", hours.in_words(craftsman.hours) if craftsman.hours
        else "", hours.in_words(parsed), {"hours": parsed},
    )  # fmt: skip


async def close_days(redis: Redis, notify: Notifier, openid: str, days: str) -> Changed:
    """周日休息: those days closed, the other days' hours kept."""
    craftsman = await own_listing(openid)
    if not craftsman.hours:
        raise DirectoryError(
            "您平时几点营业？请说“营业时间改成每天8点到18点”这样。", code="no_hours", field="hours"
        )
    return await change_hours(redis, notify, openid, f"{craftsman.hours};{days}休息")


# "改裤脚15元", "换拉链 20块": a service and its price.
PRICE = re.compile(r"([\u4e00-\u9fa5A-Za-z]{1,12}?)\s*(\d{1,5}(?:\.\d{1,2})?)\s*(?:元|块钱?)")


def _items(description: str) -> list[str]:
    return [p for p in re.split(r"[、，,；;\s]+", description) if p]


def _without_price(item: str) -> str:
    return re.sub(r"(?<![\s\d.])\s*+\d++(?:\.\d++)?\s*+(?:元|块钱?)(?:起)?$", "", item)


async def change_prices(
    redis: Redis, notify: Notifier, openid: str, prices: list[tuple[str, str]]
) -> Changed:
    """改裤脚15元 换拉链20元: each service's price replaces its old one in the description;
    a service not listed yet is added."""
    craftsman = await own_listing(openid)
    if not prices:
        raise DirectoryError(
            "请说服务和价格，比如“改裤脚15元 换拉链20元”。", code="no_prices", field="description"
        )
    items = _items(craftsman.description)
    for name, price in prices:
        priced = f"{name}{price}元"
        at = next((i for i, it in enumerate(items) if _without_price(it) == name), None)
        if at is None:
            items.append(priced)
        else:
            items[at] = priced
    shown = " ".join(f"{n}{p}元" for n, p in prices)
    return await _change(
        redis, notify, craftsman, "description", craftsman.description, shown,
        {"description": "、".join(items)[:500]},
    )  # fmt: skip


def _trade_of(what: str) -> str | None:
    try:
        cats = parse_categories(what)
    except DirectoryError:
        return None
    return cats[0]


def _named_trade(what: str) -> str | None:
    """The trade a phrase names as such ("修鞋", "做家电维修"), not one it merely suggests."""
    for text in (what, re.sub(r"^(?:做|干|接)", "", what)):
        named = text if text in CATEGORIES else _ALIASES.get(text)
        if named is not None:
            return named
    return None


async def add_service(redis: Redis, notify: Notifier, openid: str, what: str) -> Changed:
    """我现在也修拉链: a service joins the description at once; a new trade named as such
    (我现在也修鞋, for a tailor) waits for the community's approval."""
    craftsman = await own_listing(openid)
    what = what.strip()
    trade = _named_trade(what)
    if trade is not None and trade not in craftsman.categories:
        new = [*craftsman.categories, trade]
        return await _change(
            redis, notify, craftsman, "categories", _cats(craftsman.categories), _cats(new),
            {"add_trade": trade}, review=True,
        )  # fmt: skip
    items = _items(craftsman.description)
    if any(_without_price(it) == what for it in items):
        raise DirectoryError(f"您的服务里已经有“{what}”了。", code="unchanged")
    items.append(what)
    changed = await _change(
        redis, notify, craftsman, "description", craftsman.description, "、".join(items),
        {"description": "、".join(items)[:500]},
    )  # fmt: skip
    suggested = _trade_of(what)
    if trade is None and suggested is not None and suggested not in craftsman.categories:
        # "修拉链" for a tailor is a service; residents searching 修鞋 find her only if she
        # adds the trade, which the community approves.
        name = category_name(suggested)
        hint = f"。想让找{name}的居民也找到您，请说“我现在也做{name}”"
        return Changed(changed.craftsman, changed.said + hint, changed.pending)
    return changed


async def drop_service(redis: Redis, notify: Notifier, openid: str, what: str) -> Changed:
    """不修电视了: the services naming it leave the description; 不做修鞋了 (a whole trade they
    have, named as one) leaves their trades. Anything else is asked about, not guessed."""
    craftsman = await own_listing(openid)
    what = what.strip()
    key = re.sub(r"^(?:修理|维修|修|做|接|改|换|配|干)", "", what) or what
    items = _items(craftsman.description)
    kept = [it for it in items if key not in it]
    if len(kept) < len(items):
        return await _change(
            redis, notify, craftsman, "description", craftsman.description, "、".join(kept) or "无",
            {"description": "、".join(kept)},
        )  # fmt: skip
    named = what if what in CATEGORIES else _ALIASES.get(what)
    if named is not None and named in craftsman.categories:
        if len(craftsman.categories) == 1:
            raise DirectoryError(
                "这是您唯一的行当。不想接活了可以说“暂停接单”。",
                code="last_trade",
                field="categories",
            )
        left = [c for c in craftsman.categories if c != named]
        return await _change(
            redis, notify, craftsman, "categories", _cats(craftsman.categories), _cats(left),
            {"categories": left},
        )  # fmt: skip
    trade = _trade_of(what)
    if trade is not None and trade in craftsman.categories:
        raise DirectoryError(
            f"您的服务里没写“{what}”。是整个{category_name(trade)}都不做了吗？"
            f"是的话请说“不做{category_name(trade)}了”。",
            code="unclear",
            field="categories",
        )
    raise DirectoryError(f"您的登记里没有“{what}”。说“我的信息”可以看登记的内容。", code="absent")


async def move(
    redis: Redis,
    notify: Notifier,
    openid: str,
    lat: float,
    lng: float,
    address: str,
    compound: str | None,
) -> Changed:
    """摊位搬到幸福小区东门 (or a location sent): the stall's new place. Far from where the
    community approved it (MOVE_REVIEW_M), it waits for the community's approval."""
    craftsman = await own_listing(openid)
    if not geo.on_map(lat, lng):
        raise DirectoryError("这个位置不在地图范围内，请重新发送位置。", code="off_map")
    far = geo.haversine_m(craftsman.lat, craftsman.lng, lat, lng) > MOVE_REVIEW_M
    return await _change(
        redis, notify, craftsman, "location", craftsman.address, address[:200],
        {"lat": lat, "lng": lng, "address": address[:200], "compound": compound}, review=far,
    )  # fmt: skip


async def set_home_visits(redis: Redis, notify: Notifier, openid: str, yes: bool) -> Changed:
    craftsman = await own_listing(openid)
    shown = {True: "可以上门", False: "不上门"}
    return await _change(
        redis, notify, craftsman, "home_visits", shown[craftsman.home_visits], shown[yes],
        {"home_visits": yes},
    )  # fmt: skip


async def change_phone(redis: Redis, notify: Notifier, openid: str, text: str) -> Changed:
    craftsman = await own_listing(openid)
    phone = normalise_phone(text)
    return await _change(
        redis, notify, craftsman, "phone", craftsman.phone, phone, {"phone": phone}
    )


async def pending_changes(craftsman: Craftsman) -> list[ListingChange]:
    return await ListingChange.filter(craftsman=craftsman, pending=True).order_by("id")


async def waiting_changes(limit: int = 50) -> list[ListingChange]:
    """Every craftsman's changes waiting for the community, oldest first (the admins' queue)."""
    return (
        await ListingChange.filter(pending=True)
        .order_by("id")
        .limit(limit)
        .prefetch_related("craftsman")
    )


async def history(craftsman: Craftsman, limit: int = 50) -> list[ListingChange]:
    """The craftsman's own changes, newest first (the console's craftsman page)."""
    return await ListingChange.filter(craftsman=craftsman).order_by("-id").limit(limit)


async def _decide_changes(
    redis: Redis, notify: Notifier, craftsman: Craftsman, accept: bool
) -> list[ListingChange]:
    """An admin's 通过/拒绝 on an approved craftsman's pending changes."""
    changes = await pending_changes(craftsman)
    if not changes:
        return []
    now = clock.now()
    for change in changes:
        change.pending = False
        change.decided_at = now
        await change.save(update_fields=["pending", "decided_at"])
        if accept:
            craftsman.update_from_dict(_fields_now(craftsman, change.values))
    said = "；".join(f"{FIELD_ZH[c.field]}改为{c.new}" for c in changes)
    if accept:
        await craftsman.save()
        await index.sync(redis, craftsman)
        await _tell(notify, craftsman, f"社区已同意您的修改：{said}。")
    else:
        await _tell(notify, craftsman, f"社区没有同意您的修改：{said}。有疑问请联系社区。")
    return changes


def listing_text(c: Craftsman, pending: list[ListingChange]) -> str:
    """我的信息: the listing as residents find it, and what still waits for the community."""
    lines = [
        f"您的登记（编号{c.id}，{STATUS_ZH[c.status]}）：",
        f"称呼：{c.name}",
        f"行当：{_cats(c.categories)}",
        f"服务：{c.description or '未填写'}",
        f"地址：{c.address or '未填写'}",
        f"营业时间：{hours.in_words(c.hours)}",
        f"上门：{'可以上门' if c.home_visits else '不上门'}",
        f"电话：{c.phone}",
    ]
    lines += [f"等社区确认：{FIELD_ZH[p.field]}改为{p.new}" for p in pending]
    lines.append("要改直接说，如“营业时间改成每天8点到18点”“改裤脚15元”“摊位搬到幸福小区”。")
    return "\n".join(lines)


# ---- a craftsman answering reviews -----------------------------------------------------------

MY_REVIEWS_SHOWN = 10
# No content check exists for chat reviews or complaints (the REST API uses WeChat's
# msg_sec_check, which needs a mini-program); a reply residents will read is held to these.
_RUDE = re.compile(r"傻[逼比B]|他妈|你妈|滚蛋|去死|神经病|王八蛋|混蛋|贱|畜生|狗东西|脑残|白痴")


async def my_reviews(openid: str, limit: int = MY_REVIEWS_SHOWN) -> list[Review]:
    """The craftsman's reviews, newest first: 回复评价 N answers number N of this list."""
    craftsman = await own_listing(openid)
    return await Review.filter(craftsman=craftsman).order_by("-created_at", "-id").limit(limit)


def review_lines(reviews: list[Review]) -> list[str]:
    lines = []
    for n, r in enumerate(reviews, 1):
        day = r.created_at.astimezone(clock.SHANGHAI)
        lines.append(f"{n}. {r.stars}星 {r.text or '（没写内容）'}（{day.month}月{day.day}日）")
        if r.reply:
            lines.append(f"   您的回复：{r.reply}")
    return lines


async def reply_review(openid: str, n: int, text: str) -> Review:
    """回复评价 2 谢谢您: the craftsman's answer to number 2 of 我的评价 (a second answer replaces
    the first); the resident who wrote the review is told."""
    text = text.strip()
    if not text:
        raise DirectoryError("回复什么？比如“回复评价 1 谢谢您，欢迎再来”。", code="empty")
    if len(text) > 200:
        raise DirectoryError("回复请在200字以内。", code="too_long")
    if _RUDE.search(text):
        raise DirectoryError("回复里有不文明的话，请改一改再发。", code="rude")
    reviews = await my_reviews(openid, limit=max(n, 1))
    if not 1 <= n <= len(reviews):
        raise DirectoryError(
            f"没有第{n}条评价。说“我的评价”看评价和序号。", code="no_review", field="n"
        )
    r = reviews[n - 1]
    r.reply = text
    r.replied_at = clock.now()
    await r.save(update_fields=["reply", "replied_at"])
    craftsman = await own_listing(openid)
    if r.reviewer.startswith("erased:"):  # the resident asked us to forget who they are
        return r
    await enqueue_text(
        PushChannel.WECHAT_CS,
        r.reviewer,
        f"{craftsman.name}回复了您的评价（{r.stars}星）：{text}",
    )
    return r
