"""Meal subsidies (助餐补贴): each recipient's tier, what a delivered meal costs them and what the
canteen claims, and the monthly per-recipient record for the subsidy claim.

Tiers are set by canteen staff or admins only (a resident cannot grant themselves a subsidy).
How much each tier gets per meal is the canteen's setting (`Canteen.subsidy_cents`, else
DEFAULT_SUBSIDY_CENTS); the resident pays the meal's price less it. Every sign-up records its
tier, price and subsidy when it is booked (`terms`, called by `service.book`), and again while
it is still to be delivered when the tier or the canteen's subsidy changes, so a change never
rewrites a meal already delivered. Only delivered meals count in the record.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass, field

from tortoise.expressions import Q

from canteen import service as canteen_service
from community.buildings import AddressError, parse_address
from community.errors import DomainError
from community.phones import normalise_phone
from community.roles import is_staff
from delivery import texts
from infra.spreadsheets import safe_row
from models.canteen import Canteen, CanteenMeal, Meal
from models.delivery import Outcome, Recipient, Signup, SignupStatus, SubsidyTier

TIER_NAMES = {
    SubsidyTier.NONE: "无补贴",
    SubsidyTier.AGE60: "60岁以上",
    SubsidyTier.AGE80: "80岁以上",
    SubsidyTier.DIBAO: "低保",
    SubsidyTier.TEKUN: "特困",
    SubsidyTier.DISABLED: "残疾",
}
PAID_TIERS = [t for t in SubsidyTier if t is not SubsidyTier.NONE]
# A meal of 10 yuan: 60岁以上 pays 8, 80岁以上 6, 低保 3, 特困 nothing, 残疾 6. A canteen sets
# its own (set-subsidy, the console's subsidy page); these hold until it does.
DEFAULT_SUBSIDY_CENTS = {
    SubsidyTier.AGE60: 200,
    SubsidyTier.AGE80: 400,
    SubsidyTier.DIBAO: 700,
    SubsidyTier.TEKUN: 1000,
    SubsidyTier.DISABLED: 400,
}
MAX_SUBSIDY_CENTS = 100_00  # 100 yuan a meal: more is a typo

# What staff type for each tier; checked longest first ("80岁以上" before "80").
_TIER_WORDS: dict[str, SubsidyTier] = {
    **dict.fromkeys(
        ("60岁以上", "六十岁以上", "60岁", "六十岁", "60+", "60", "六十"), SubsidyTier.AGE60
    ),
    **dict.fromkeys(
        ("80岁以上", "八十岁以上", "80岁", "八十岁", "80+", "80", "八十", "高龄"),
        SubsidyTier.AGE80,
    ),
    **dict.fromkeys(("低保", "低保户", "最低生活保障"), SubsidyTier.DIBAO),
    **dict.fromkeys(("特困", "特困供养", "特困人员", "五保", "五保户"), SubsidyTier.TEKUN),
    **dict.fromkeys(("残疾", "残疾人", "残障"), SubsidyTier.DISABLED),
    **dict.fromkeys(
        ("无", "没有", "无补贴", "不补贴", "取消", "取消补贴", "普通", "none"), SubsidyTier.NONE
    ),
}


# The age tiers as said: "八十多岁", "80岁及以上", "80往上", "80岁以上的" (60 and 80 only: "七十岁"
# is no tier, it is a slip to ask about).
_AGE_SAID = re.compile(r"(60|80|六十|八十)(?:多)?岁?(?:及|或)?(?:以上|往上|多)?(?:的|的老人|老人)?")
_AGES = {"60": SubsidyTier.AGE60, "六十": SubsidyTier.AGE60,
         "80": SubsidyTier.AGE80, "八十": SubsidyTier.AGE80}  # fmt: skip


def parse_tier(text: str) -> SubsidyTier | None:
    """The tier staff mean by `text` ("80岁以上", "低保", "无"), or None; stored values and the
    shown names work too."""
    value = unicodedata.normalize("NFKC", re.sub(r"\s+", "", text))
    value = value.replace("＋", "+").replace("周岁", "岁").lower()
    if age := _AGE_SAID.fullmatch(value):
        return _AGES[age.group(1)]
    value = value.removesuffix("的")
    if value in {t.value for t in SubsidyTier}:
        return SubsidyTier(value)
    for tier, name in TIER_NAMES.items():
        if value == name:
            return tier
    return _TIER_WORDS.get(value)


def tier_of(recipient: Recipient) -> SubsidyTier:
    return SubsidyTier(recipient.tier) if recipient.tier else SubsidyTier.NONE


def tier_name(tier: SubsidyTier | str | None) -> str:
    return TIER_NAMES[SubsidyTier(tier) if tier else SubsidyTier.NONE]


def yuan(cents: int) -> str:
    return f"{cents / 100:g}元"


def parse_yuan(text: str) -> int:
    """'4' / '2.5' / '2.5元' → cents; raises DomainError."""
    m = re.fullmatch(r"(\d{1,4})(?:\.(\d{1,2}))?\s*+元?", (text or "").strip())
    if m is None:
        raise DomainError(texts.BAD_SUBSIDY_AMOUNT, code="invalid", field="amount")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


# ---- the canteen's amounts ---------------------------------------------------------------------


def subsidies_of(canteen: Canteen) -> dict[SubsidyTier, int]:
    """The canteen's subsidy per meal for each paid tier, in cents (its setting, else the
    default)."""
    own = canteen.subsidy_cents or {}
    return {t: int(own.get(t.value, DEFAULT_SUBSIDY_CENTS[t])) for t in PAID_TIERS}


@dataclass(frozen=True)
class Terms:
    tier: SubsidyTier
    price_cents: int
    subsidy_cents: int

    @property
    def pays_cents(self) -> int:
        return self.price_cents - self.subsidy_cents

    def fields(self) -> dict[str, object]:
        return {
            "tier": self.tier,
            "price_cents": self.price_cents,
            "subsidy_cents": self.subsidy_cents,
        }


def terms_with(tier: SubsidyTier, price_cents: int, subsidies: dict[SubsidyTier, int]) -> Terms:
    """One meal's terms: never more subsidy than the meal costs."""
    subsidy = 0 if tier is SubsidyTier.NONE else min(subsidies[tier], price_cents)
    return Terms(tier, price_cents, subsidy)


async def terms(recipient: Recipient, meal: CanteenMeal, day: dt.date) -> Terms:
    """What one meal of `meal` on `day` costs `recipient` and what the canteen claims for it,
    by the recipient's tier now and the day's price (a menu's price, else the meal's)."""
    canteen = await Canteen.get(pk=meal.canteen_id)  # type: ignore[attr-defined]
    price = await canteen_service.price_on(meal, day)
    return terms_with(tier_of(recipient), price, subsidies_of(canteen))


async def _restamp(signups: list[Signup]) -> int:
    """Record each sign-up's terms again (its recipient's tier now, the canteen's amounts now).
    For meals still to be delivered only: the caller chooses them."""
    meals: dict[tuple[int, str], CanteenMeal | None] = {}
    changed = 0
    for s in signups:
        key = (s.slot.canteen_id, str(s.slot.meal))
        if key not in meals:
            meals[key] = await CanteenMeal.get_or_none(canteen_id=key[0], meal=key[1])
        meal = meals[key]
        if meal is None:
            continue
        t = await terms(s.recipient, meal, s.slot.date)
        await Signup.filter(pk=s.pk, outcome__isnull=True).update(**t.fields())
        changed += 1
    return changed


def _undelivered(today: dt.date) -> Q:
    return Q(status=SignupStatus.BOOKED, outcome__isnull=True, slot__date__gte=today)


# ---- who may set what ------------------------------------------------------------------------


async def _check_staff(openid: str) -> None:
    if not await is_staff(openid):
        raise DomainError(texts.NOT_STAFF_TIER, code="not_staff")


def check_tier_text(text: str) -> SubsidyTier:
    tier = parse_tier(text)
    if tier is None:
        raise DomainError(texts.unknown_tier(text.strip()[:10]), code="invalid", field="tier")
    return tier


@dataclass(frozen=True)
class TierChange:
    recipient: Recipient
    before: SubsidyTier
    after: SubsidyTier
    upcoming: int  # meals still to be delivered that now follow the new tier


async def set_tier(
    staff: str,
    recipient: Recipient,
    tier: SubsidyTier | str,
    now: dt.datetime,
    *,
    operator: bool = False,
) -> TierChange:
    """Staff (canteen staff or an admin) set a recipient's tier; meals from today on that are not
    yet delivered follow it, delivered ones keep what they were delivered at. `operator`: the
    server's command line (python main.py set-tier), trusted like grant-role; `staff` names it."""
    if not operator:
        await _check_staff(staff)
    chosen = tier if isinstance(tier, SubsidyTier) else check_tier_text(tier)
    before = tier_of(recipient)
    recipient.tier = chosen
    recipient.tier_set_by, recipient.tier_set_at = staff, now
    await recipient.save(update_fields=["tier", "tier_set_by", "tier_set_at", "updated_at"])
    upcoming = await Signup.filter(_undelivered(now.date()), recipient=recipient).prefetch_related(
        "slot", "recipient"
    )
    await _restamp(list(upcoming))
    return TierChange(recipient, before, chosen, sum(s.count for s in upcoming))


async def set_subsidy(
    staff: str,
    canteen: Canteen,
    tier: SubsidyTier | str,
    cents: int,
    now: dt.datetime,
    *,
    operator: bool = False,
) -> dict[SubsidyTier, int]:
    """Staff of this canteen (or an admin) set its subsidy per meal for one tier; meals from
    today on that are not yet delivered follow it. Returns the canteen's amounts."""
    if not operator and not await canteen_service.may_publish(staff, canteen):
        raise DomainError(texts.NOT_STAFF_SUBSIDY, code="not_staff")
    chosen = tier if isinstance(tier, SubsidyTier) else check_tier_text(tier)
    if chosen is SubsidyTier.NONE:
        raise DomainError(texts.NO_TIER_AMOUNT, code="invalid", field="tier")
    if not 0 <= cents <= MAX_SUBSIDY_CENTS:
        raise DomainError(texts.BAD_SUBSIDY_AMOUNT, code="invalid", field="amount")
    own = dict(canteen.subsidy_cents or {})
    own[chosen.value] = cents
    canteen.subsidy_cents = own
    await canteen.save(update_fields=["subsidy_cents"])
    upcoming = await Signup.filter(
        _undelivered(now.date()), slot__canteen_id=canteen.pk, tier=chosen
    ).prefetch_related("slot", "recipient")
    await _restamp(list(upcoming))
    return subsidies_of(canteen)


# ---- finding the recipient staff mean ---------------------------------------------------------

_ID_RE = re.compile(r"^(?:编号|#|＃|no\.?)\s*(\d{1,9})$", re.IGNORECASE)


def _flat_key(address: str) -> tuple[str, ...]:
    """An address as its numbers (building first): 3号楼2单元401室 and 三号楼2单元401 meet."""
    try:
        value, building = parse_address(address)
    except AddressError:
        return ()
    m = re.search(r"(?:号楼|号|栋|幢|座|楼)", value)
    rest = value[m.end() :] if m else value
    return (building, *re.findall(r"\d+", rest))


def names_recipient(word: str) -> bool:
    """Whether a word finds recipients by itself: 编号12, a phone number, an address."""
    if _ID_RE.match(word) or _flat_key(word):
        return True
    try:
        normalise_phone(word)
    except DomainError:
        return False
    return True


async def find_recipients(staff: str, who: str, *, operator: bool = False) -> list[Recipient]:
    """The recipients `who` names, for staff only: 编号12, a phone number, or an address with
    or without a label ("3号楼2单元401 我妈"). Several when the words fit several."""
    if not operator:
        await _check_staff(staff)
    words = who.split()
    if not words:
        raise DomainError(texts.TIER_WHO, code="invalid", field="recipient")
    if len(words) == 1 and (m := _ID_RE.match(words[0])):
        found = await Recipient.get_or_none(pk=int(m.group(1)))
        return [found] if found else []
    phone, address, labels = None, None, []
    for word in words:
        try:
            phone = normalise_phone(word)
            continue
        except DomainError:
            pass
        if _flat_key(word):
            address = word
        else:
            labels.append(word)
    if phone is None and address is None:
        raise DomainError(texts.TIER_WHO, code="invalid", field="recipient")
    query = Recipient.all()
    if phone is not None:
        query = query.filter(Q(phone=phone) | Q(emergency_phone=phone))
    if address is not None:
        key = _flat_key(address)
        query = query.filter(building=key[0])
    rows = await query.order_by("id")
    if address is not None:
        rows = [r for r in rows if _flat_key(r.address) == _flat_key(address)]
    if labels and rows:
        named = [r for r in rows if r.label in labels or ("本人" in r.label and "本人" in labels)]
        rows = named or rows
    if phone is not None and len(rows) > 1:
        own = [r for r in rows if r.phone == phone]  # the elder's own phone before a relative's
        rows = own or rows
    return rows


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 11 else phone


def recipient_line(r: Recipient) -> str:
    return f"编号{r.pk} {r.label} {r.address} 电话{mask_phone(r.phone)} {tier_name(r.tier)}"


# ---- the monthly record ----------------------------------------------------------------------


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """'2026-11' → (first day, first day of the next month)."""
    m = re.fullmatch(r"(\d{4})\s*+[-/年.]\s*+(\d{1,2})\s*+月?", (month or "").strip())
    if m is None or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2100:
        raise DomainError(texts.BAD_MONTH, code="invalid", field="month")
    first = dt.date(int(m.group(1)), int(m.group(2)), 1)
    after = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, after


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass
class RecordRow:
    recipient_id: int
    label: str
    address: str
    phone: str
    tiers: list[SubsidyTier] = field(default_factory=list)  # as delivered, in order
    meals: int = 0
    paid_cents: int = 0
    subsidy_cents: int = 0

    @property
    def tier_names(self) -> str:
        return "、".join(tier_name(t) for t in self.tiers) or tier_name(None)


@dataclass
class MonthRecord:
    canteen: Canteen
    month: str
    rows: list[RecordRow]
    by_tier: dict[SubsidyTier, tuple[int, int]]  # meals, subsidy cents

    @property
    def meals(self) -> int:
        return sum(r.meals for r in self.rows)

    @property
    def paid_cents(self) -> int:
        return sum(r.paid_cents for r in self.rows)

    @property
    def subsidy_cents(self) -> int:
        return sum(r.subsidy_cents for r in self.rows)


async def month_record(canteen: Canteen, month: str) -> MonthRecord:
    """Per recipient, the canteen's meals delivered in `month` (only outcome 已送达 counts): the
    tier each was delivered at, what the resident paid and the subsidy claimed. A sign-up from
    before subsidies were recorded counts at the recipient's tier and the canteen's amounts now."""
    first, after = month_bounds(month)
    delivered = await Signup.filter(
        slot__canteen_id=canteen.pk,
        slot__date__gte=first,
        slot__date__lt=after,
        status=SignupStatus.BOOKED,
        outcome=Outcome.DELIVERED,
    ).prefetch_related("recipient", "slot")
    subsidies = subsidies_of(canteen)
    meals = {m.meal: m for m in await CanteenMeal.filter(canteen=canteen)}
    rows: dict[int, RecordRow] = {}
    by_tier: dict[SubsidyTier, tuple[int, int]] = {}
    for s in sorted(delivered, key=lambda s: (s.slot.date, s.pk)):
        r = s.recipient
        if s.tier is not None and s.price_cents is not None and s.subsidy_cents is not None:
            t = Terms(SubsidyTier(s.tier), s.price_cents, s.subsidy_cents)
        else:
            meal = meals.get(Meal(s.slot.meal))
            price = await canteen_service.price_on(meal, s.slot.date) if meal else 0
            t = terms_with(tier_of(r), price, subsidies)
        row = rows.setdefault(r.pk, RecordRow(r.pk, r.label, r.address, r.phone))
        if t.tier not in row.tiers:
            row.tiers.append(t.tier)
        row.meals += s.count
        row.paid_cents += t.pays_cents * s.count
        row.subsidy_cents += t.subsidy_cents * s.count
        n, cents = by_tier.get(t.tier, (0, 0))
        by_tier[t.tier] = (n + s.count, cents + t.subsidy_cents * s.count)
    ordered = sorted(rows.values(), key=lambda x: (building_order(x.address), x.address, x.label))
    return MonthRecord(canteen, month_of(first), ordered, by_tier)


def building_order(address: str) -> int:
    key = _flat_key(address)
    return int(key[0]) if key and key[0].isdigit() else 10**6


CSV_COLUMNS = [
    "编号", "送餐对象", "地址", "电话", "补贴类别", "送达餐数", "个人支付(元)", "补贴金额(元)",
]  # fmt: skip


def record_csv(record: MonthRecord) -> str:
    """The record as CSV (UTF-8 with BOM, so Excel reads it), a total line last. Residents' text
    (label, address) is made safe to open: never a formula (safe_row)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in record.rows:
        writer.writerow(
            safe_row([
                r.recipient_id, r.label, r.address, r.phone, r.tier_names, r.meals,
                f"{r.paid_cents / 100:.2f}", f"{r.subsidy_cents / 100:.2f}",
            ])
        )  # fmt: skip
    writer.writerow(
        [
            "合计", f"{len(record.rows)}人", "", "", "", record.meals,
            f"{record.paid_cents / 100:.2f}", f"{record.subsidy_cents / 100:.2f}",
        ]
    )  # fmt: skip
    return out.getvalue()


def record_summary(record: MonthRecord, console: str = "") -> str:
    """The month in a few lines for staff in the chat; the full list is the console's."""
    first, _ = month_bounds(record.month)
    head = f"{record.canteen.name} {first.year}年{first.month}月助餐补贴："
    if not record.rows:
        return head + "\n这个月还没有送达的餐。"
    lines = [
        head,
        f"送达{record.meals}餐（{len(record.rows)}人），个人支付{yuan(record.paid_cents)}，"
        f"补贴{yuan(record.subsidy_cents)}。",
    ]
    for tier in SubsidyTier:
        if tier in record.by_tier:
            n, cents = record.by_tier[tier]
            lines.append(f"  {tier_name(tier)}：{n}餐，补贴{yuan(cents)}")
    if console:
        lines.append(f"明细和下载请用管理后台：{console}")
    return "\n".join(lines)
