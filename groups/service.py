"""Group chats and their 接龙: binding a group to the canteen and an area, previewing a pasted
chain against capacity and cutoffs, booking it on 确认, and writing the chain staff post.

Transports (the bot's router, a console view) parse input, call these over plain values and
show the result; the rules and the reasons shown to staff live here, once.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError

from canteen import service as canteen_service
from delivery import service as delivery
from delivery.days import day_name
from delivery.places import AddressError, parse_address
from delivery.service import Result, cutoff_at, meal_label
from groups.jielong import Chain, render_chain
from infra import keys
from models.canteen import Canteen, CanteenMeal, Meal
from models.delivery import MealSlot, Recipient, Signup, SignupStatus
from models.groups import ChainLine, GroupBinding
from models.users import Role, RoleGrant

# Recipients booked from a 接龙 who are nobody's own recipient belong to this account (one per
# canteen): no phone, a name for a label.
CHAIN_ACCOUNT = "jielong:"


# How a line of a generated chain says its resident signed up themselves (Official Account,
# mini-program): pasted back, it is not booked again.
SIGNED_UP_ELSEWHERE = "（已报名）"


def chain_account(canteen_id: int) -> str:
    return f"{CHAIN_ACCOUNT}{canteen_id}"


# ---- group binding ---------------------------------------------------------------------------


async def is_admin(user: str) -> bool:
    return await RoleGrant.exists(user__openid=user, role=Role.ADMIN)


async def bind_group(chat_id: str, canteen: Canteen, area: str, by: str) -> GroupBinding:
    binding, _ = await GroupBinding.update_or_create(
        chat_id=chat_id, defaults={"canteen_id": canteen.pk, "area": area[:64], "bound_by": by}
    )
    return binding


async def binding_of(chat_id: str) -> GroupBinding | None:
    return await GroupBinding.get_or_none(chat_id=chat_id) if chat_id else None


async def group_place(chat_id: str) -> tuple[float, float, str] | None:
    """Where "nearest" is in a group (groups send no locations): the bound canteen's place."""
    binding = await binding_of(chat_id)
    if binding is None:
        return None
    canteen = await Canteen.get_or_none(pk=binding.canteen_id)
    if canteen is None or canteen.lat is None or canteen.lng is None:
        return None
    return canteen.lat, canteen.lng, binding.area or canteen.name


# ---- 接龙 in ----------------------------------------------------------------------------------


class Status(StrEnum):
    BOOK = "book"  # a new line that fits: booked on 确认
    SAME = "same"  # booked from an earlier paste, unchanged
    EDIT = "edit"  # booked earlier, count/address/note changed: changed on 确认
    REMOVE = "remove"  # booked earlier, gone from the chain: cancelled on 确认
    FULL = "full"
    CLOSED = "closed"
    UNCLEAR = "unclear"


STATUS_WORDS = {
    Status.BOOK: "可报名",
    Status.SAME: "已报过",
    Status.EDIT: "有改动",
    Status.REMOVE: "已删除，确认后取消",
    Status.FULL: "名额已满",
    Status.CLOSED: "已过截止时间",
    Status.UNCLEAR: "看不懂",
}


@dataclass
class Line:
    status: Status
    number: int
    name: str
    building: str
    count: int
    address: str = ""
    note: str = ""
    why: str = ""
    key: str = ""
    was: str = ""  # for an edit: what it was

    @property
    def public(self) -> str:
        where = f"{self.building}号楼" if self.building else ""
        return " ".join(p for p in (self.name, where, f"{self.count}份") if p)


@dataclass
class Preview:
    canteen_id: int
    day: str
    meal: str
    lines: list[Line] = field(default_factory=list)
    chat_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preview:
        lines = [Line(**{**x, "status": Status(x["status"])}) for x in data["lines"]]
        return cls(data["canteen_id"], data["day"], data["meal"], lines, data.get("chat_id", ""))

    @property
    def changes(self) -> int:
        return sum(x.status in (Status.BOOK, Status.EDIT, Status.REMOVE) for x in self.lines)


class ChainProblem(ValueError):
    """The chain as a whole cannot be booked (no such meal, no day): said to staff."""


async def _meal(canteen: Canteen, meal: Meal | None) -> CanteenMeal:
    meals = await delivery.delivered_meals(canteen)
    if not meals:
        raise ChainProblem("本食堂没有开通送餐。")
    if meal is None:
        if len(meals) == 1:
            return meals[0]
        names = "、".join(meal_label(m.meal) for m in meals)
        raise ChainProblem(f"接龙标题里没写是哪一餐（食堂送{names}），请在标题写明，如“明天午餐”。")
    for m in meals:
        if m.meal == meal:
            return m
    raise ChainProblem(f"食堂不送{meal_label(meal)}。")


async def preview_chain(
    canteen: Canteen, chain: Chain, now: dt.datetime, chat_id: str = ""
) -> Preview:
    """What 确认 would do, line by line, without booking anything."""
    meal = await _meal(canteen, chain.meal)
    day = chain.day or (now.date() + dt.timedelta(days=1))
    if day < now.date():
        raise ChainProblem(f"接龙是{day_name(day)}的，已经过去了。")
    closed = now >= cutoff_at(meal, day)
    slot = await MealSlot.get_or_none(canteen_id=canteen.pk, date=day, meal=meal.meal)
    free = meal.delivery_capacity if slot is None else slot.capacity - slot.booked
    earlier = {
        c.key: c for c in await ChainLine.filter(canteen_id=canteen.pk, date=day, meal=meal.meal)
    }
    preview = Preview(canteen.pk, day.isoformat(), meal.meal.value, chat_id=chat_id)
    seen: set[str] = set()
    for e in chain.entries:
        line = Line(
            Status.BOOK, e.number, e.name, e.building, e.count, e.address, e.note, key=e.key
        )
        if SIGNED_UP_ELSEWHERE in e.note:
            line.status, line.why = Status.SAME, "自己报的名"
        elif e.problem:
            line.status, line.why = Status.UNCLEAR, e.problem
        elif e.key in seen:
            line.status, line.why = Status.UNCLEAR, "和前面一行重复"
        else:
            seen.add(e.key)
            old = earlier.get(e.key)
            if old is not None and (old.count, old.address, old.note) == (
                e.count, e.address, e.note,
            ):  # fmt: skip
                line.status = Status.SAME
            elif closed:
                line.status = Status.CLOSED
            else:
                need = e.count - (old.count if old is not None else 0)
                if need > free:
                    line.status = Status.FULL
                else:
                    free -= max(need, 0)
                    if old is not None:
                        line.status, line.was = Status.EDIT, _describe(old)
        preview.lines.append(line)
    for key, old in earlier.items():
        if key not in seen:
            status = Status.CLOSED if closed else Status.REMOVE
            preview.lines.append(
                Line(
                    status,
                    0,
                    old.name,
                    old.building,
                    old.count,
                    old.address,
                    key=key,
                    why="接龙里没有了",
                )  # fmt: skip
            )
    return preview


def _describe(old: ChainLine) -> str:
    return " ".join(p for p in (f"{old.building}号楼", f"{old.count}份", old.note) if p)


def render_preview(preview: Preview, canteen_name: str, today: dt.date) -> str:
    """The preview as staff see it (in a group too: names and buildings, never rooms)."""
    day = dt.date.fromisoformat(preview.day)
    what = f"{day_name(day, today)}{meal_label(preview.meal)}"
    out = [f"{canteen_name} {what}接龙，共{len(preview.lines)}行："]
    for x in preview.lines:
        number = f"{x.number}. " if x.number else "- "
        word = STATUS_WORDS[x.status]
        extra = f"（{x.why}）" if x.why else ""
        if x.status is Status.EDIT:
            extra = f"（原来：{x.was}）"
        shown = x.public if x.status is not Status.UNCLEAR or x.name else "（空行）"
        out.append(f"{number}{shown} —— {word}{extra}")
    counts = {s: sum(1 for x in preview.lines if x.status is s) for s in Status}
    if preview.changes:
        out.append(
            f"回复“确认”：报名{counts[Status.BOOK]}行，改{counts[Status.EDIT]}行，"
            f"取消{counts[Status.REMOVE]}行；回复“取消”放弃。"
        )
    else:
        out.append("没有要报名或修改的行。")
    return "\n".join(out)


def _has_room(address: str) -> bool:
    try:
        parse_address(address)
    except AddressError:
        return False
    return True


async def _recipient_for(canteen_id: int, line: Line) -> Recipient:
    """A resident's own recipient when the line is clearly them (same full address, and the
    name is the label or the only one there): their booking then shows in 我订了几天. Else
    the canteen's 接龙 account, labelled with the name (no phone is asked)."""
    account = chain_account(canteen_id)
    if _has_room(line.address):
        known = [
            r
            for r in await Recipient.filter(address=line.address)
            if not r.openid.startswith(CHAIN_ACCOUNT)
        ]
        named = [r for r in known if r.label == line.name]
        if len(named) == 1:
            return named[0]
        if len(known) == 1 and not named:
            return known[0]
    label = line.name[:16]
    mine = await Recipient.get_or_none(openid=account, label=label)
    if mine is not None and mine.building != line.building:
        label = f"{line.name}·{line.building}号楼"[:16]
        mine = await Recipient.get_or_none(openid=account, label=label)
    fields: dict[str, Any] = {"address": line.address, "building": line.building, "diet": line.note}
    if mine is None:
        try:
            return await Recipient.create(openid=account, label=label, phone="", **fields)
        except IntegrityError:  # the same line confirmed twice at once
            return await Recipient.get(openid=account, label=label)
    mine.update_from_dict(fields)
    await mine.save()
    return mine


@dataclass
class Outcome:
    booked: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # with why: full, closed since


async def apply_preview(preview: Preview, now: dt.datetime) -> Outcome:
    """Book, change and cancel what the preview showed, each through the delivery service
    (capacity and cutoffs are checked again there: the preview may be minutes old)."""
    canteen = await Canteen.get(pk=preview.canteen_id)
    meal = await _meal(canteen, Meal(preview.meal))
    day = dt.date.fromisoformat(preview.day)
    done = Outcome()
    for x in preview.lines:
        if x.status in (Status.BOOK, Status.EDIT):
            old = await ChainLine.get_or_none(
                canteen_id=canteen.pk, date=day, meal=meal.meal, key=x.key
            )
            recipient = await _recipient_for(canteen.pk, x)
            if old is not None and old.recipient_id != recipient.pk:
                await _cancel_line(old, meal, now)  # moved to another recipient
            # Staff book for residents: the per-resident limits of the chat do not apply.
            booking = await delivery.book(recipient, meal, day, x.count, now, by_staff=True)
            if booking.result not in (Result.BOOKED, Result.UPDATED, Result.ALREADY):
                why = {Result.FULL: "名额已满", Result.CLOSED: "已过截止时间"}
                done.refused.append(f"{x.public}（{why.get(booking.result, '没订上')}）")
                continue
            signup = await Signup.get(recipient=recipient, slot__date=day, slot__meal=meal.meal,
                                      slot__canteen_id=canteen.pk)  # fmt: skip
            values = {
                "name": x.name[:16], "address": x.address, "building": x.building,
                "count": x.count, "note": x.note, "recipient_id": recipient.pk,
                "signup_id": signup.pk, "chat_id": preview.chat_id,
            }  # fmt: skip
            await ChainLine.update_or_create(
                canteen_id=canteen.pk, date=day, meal=meal.meal, key=x.key, defaults=values
            )
            (done.changed if x.status is Status.EDIT else done.booked).append(x.public)
        elif x.status is Status.REMOVE:
            old = await ChainLine.get_or_none(
                canteen_id=canteen.pk, date=day, meal=meal.meal, key=x.key
            )
            if old is None:
                continue
            if await _cancel_line(old, meal, now):
                await old.delete()
                done.cancelled.append(x.public)
            else:
                done.refused.append(f"{x.public}（已过截止时间，不能取消）")
    return done


async def _cancel_line(old: ChainLine, meal: CanteenMeal, now: dt.datetime) -> bool:
    if old.signup_id is None:
        return True
    signup = await Signup.get_or_none(pk=old.signup_id)
    if signup is None or signup.status != SignupStatus.BOOKED:
        return True
    return await delivery.cancel(signup, meal, now)


def render_outcome(done: Outcome) -> str:
    out = []
    if done.booked:
        out.append(f"已报名{len(done.booked)}行：" + "、".join(done.booked))
    if done.changed:
        out.append(f"已修改{len(done.changed)}行：" + "、".join(done.changed))
    if done.cancelled:
        out.append(f"已取消{len(done.cancelled)}行：" + "、".join(done.cancelled))
    if done.refused:
        out.append("没办成：" + "、".join(done.refused))
    return "\n".join(out) or "没有要办的。"


# ---- 接龙 out ---------------------------------------------------------------------------------


async def push_to_group(redis: Any, bot_id: str, chat_id: str, text: str) -> None:
    """Queue a message the WeCom bot says first in a group (a 接龙, a menu, a roster). The
    process holding the bot's long connection sends it (handlers/wecom_ws.py); any may queue."""
    item = json.dumps({"chatid": chat_id, "content": text}, ensure_ascii=False)
    await redis.rpush(keys.wecom_ws_outbox(bot_id), item)


async def bound_groups(canteen: Canteen) -> list[str]:
    return [b.chat_id for b in await GroupBinding.filter(canteen_id=canteen.pk).order_by("id")]


async def chain_to_post(canteen: Canteen, day: dt.date, meal: Meal | None = None) -> str:
    """The 接龙 staff post in the group: the menu, the price, how to join, and the lines
    already booked (names and buildings only: the group sees it)."""
    meals = await delivery.delivered_meals(canteen)
    if meal is not None:
        meals = [m for m in meals if m.meal == meal]
    if not meals:
        return "本食堂没有开通这一餐的送餐。"
    parts = []
    for m in meals:
        menu = await canteen_service.find_menu(canteen, day, m.meal)
        dishes = "、".join(d["name"] for d in menu.dishes) if menu else "还没公布"
        price = (menu.price_cents if menu and menu.price_cents else m.price_cents) / 100
        cutoff = cutoff_at(m, day)
        when = f"{cutoff:%H:%M}" if cutoff.date() == day else f"前一天{cutoff:%H:%M}"
        rows = await Signup.filter(
            slot__canteen_id=canteen.pk, slot__date=day, slot__meal=m.meal,
            status=SignupStatus.BOOKED,
        ).prefetch_related("recipient").order_by("id")  # fmt: skip
        lines = []
        for s in rows:
            r = s.recipient
            if r.openid.startswith(CHAIN_ACCOUNT):
                lines.append(f"{r.label.split('·', 1)[0]} {r.building}号楼 {s.count}份")
            else:  # signed up by themselves: marked, so the chain pasted back skips the line
                lines.append(f"居民 {r.building}号楼 {s.count}份 {SIGNED_UP_ELSEWHERE}")
        parts.append(
            render_chain(
                f"{day_name(day)}{meal_label(m.meal)}送餐接龙",
                lines,
                info=[
                    f"菜单：{dishes}",
                    f"价格：{price:g}元/份",
                    f"参加：接着往下写“名字 楼号门牌 份数”，{when}截止",
                ],
            )
        )
    return "\n\n".join(parts)
