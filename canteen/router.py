"""Canteen in the chat: staff publish menus; residents ask about them and subscribe."""

from __future__ import annotations

import datetime as dt
import re

from bot import forms
from bot.context import Context
from bot.forms import Form, Step
from bot.messages import Kind
from bot.nlu.slots import extract_dates, extract_meal
from bot.router import HandlerResult, Router, gate, intent, said
from canteen import service, texts
from canteen.menu_parser import (
    MENU_COMMAND,
    DraftEditError,
    MenuDraft,
    MenuParseError,
    edit_drafts,
    is_menu_post,
    parse_menu,
    render_menu,
    yuan,
)
from community.errors import DomainError
from models.canteen import MEAL_NAMES, Canteen, Meal

router = Router("canteen")

NO_CANTEEN = "本社区还没有登记食堂。"
WEEKDAYS = "一二三四五六日"


# `command_text` strips nothing before 发布菜单 (no filler starts so): `said` starts with it too.
@gate(kinds=[Kind.TEXT], test=MENU_COMMAND.match)
def _is_menu_post(ctx: Context) -> bool:
    return ctx.msg.kind is Kind.TEXT and is_menu_post(ctx.msg.text)


# No "修改" here: a change is said ("红烧肉换成红烧鸡腿"), or the menu sent again whole.
_confirm = forms.confirm_step(
    "请回复“确认”发布；要改就回复“取消”，再发一遍改好的菜单。", ("发布",), may_refuse=False
)


def _drafts(data: forms.Data) -> list[MenuDraft]:
    """The menus waiting for 确认: one pasted, or several copied from last week."""
    return [MenuDraft.from_json(d) for d in data.get("drafts") or [data["draft"]]]


async def _confirm_or_edit(ctx: Context, data: forms.Data) -> bool | str:
    """确认 publishes (True); an edit said in words ("去掉拍黄瓜") changes the drafts and says
    what changed (the form shows them again); anything else asks again."""
    drafts = _drafts(data)
    try:
        done = edit_drafts(drafts, said(ctx))
    except DraftEditError as exc:
        raise forms.Invalid(str(exc)) from None
    if done is None:
        return await _confirm(ctx, data)
    data.pop("draft", None)
    data["drafts"] = [d.to_json() for d in drafts]
    return done


def _shown(data: forms.Data) -> str:
    body = "\n\n".join(render_menu(data["canteen_name"], d) for d in _drafts(data))
    head = data.get("head") or "我理解的菜单如下："
    tail = data.get("tail") or "回复“确认”发布，回复“取消”放弃。"
    return f"{head}\n{body}\n{tail}"


async def _publish(ctx: Context, data: forms.Data) -> HandlerResult:
    edited = data.pop("confirm", True)
    if isinstance(edited, str):  # an edit, not yet 确认: the changed drafts are shown again
        return await forms.start(ctx, MENU_CONFIRM, data, intro=f"好的，{edited}。")
    canteen = await Canteen.get_or_none(pk=data["canteen_id"])
    if canteen is None:
        return NO_CANTEEN
    templates = service.MenuTemplates.of(ctx.services.settings)
    said_back = []
    drafts = _drafts(data)
    for draft in drafts:
        done = await service.publish_menu(canteen, draft, ctx.user, templates)
        if not done.changed:
            said_back.append(service.UNCHANGED)
            continue
        what = "已更正" if done.menu.version > 1 else "已发布"
        said_back.append(f"{what}。将推送给{done.residents}位订阅居民和{done.groups}个群。")
    if len(drafts) == 1:
        return said_back[0]
    return "\n".join(
        f"{d.date.month}月{d.date.day}日{MEAL_NAMES[d.meal]}：{line}"
        for d, line in zip(drafts, said_back, strict=True)
    )


MENU_CONFIRM = Form(
    name="canteen.menu_confirm",
    title="发布菜单",
    # An edit reads as a menu question to the parser ("去掉鱼香肉丝", "价格12元"): here it is an
    # answer (applied, or its reason said), not a question answered in passing.
    steps=[
        Step(
            "confirm",
            _shown,
            _confirm_or_edit,
            accepts=frozenset({"menu_query", "menu", "price"}),
        )
    ],
    on_done=_publish,
)


@router.message(_is_menu_post)
async def menu_post(ctx: Context) -> HandlerResult:
    """Staff paste a menu starting with 发布菜单: show what was understood, publish on 确认."""
    canteen = await service.staff_canteen(ctx.user)
    if canteen is None:
        return "只有食堂工作人员可以发布菜单。如需开通，请联系社区管理员。"
    try:
        draft = parse_menu(ctx.msg.text, ctx.now().date())
    except MenuParseError as exc:
        return str(exc)
    data = {"canteen_id": canteen.pk, "canteen_name": canteen.name, "draft": draft.to_json()}
    return await forms.start(ctx, MENU_CONFIRM, data)


# 复制上周菜单 / 照上周一样 / 用上周的菜单 / 明天午餐照上周二的 / 上周的菜单再发一遍: last
# week's menu as a draft. What comes before names the day(s) and meal.
_COPY = re.compile(
    r"(?:复制|照着?|用|按照?|同|跟)\s*上(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天](?![样])|)"
    r"(?:的|那样|一样)?(?:菜单|菜谱|菜)?(?:一样|那样|的)?"
)
_COPY_TAIL = re.compile(r"^[\s吧发布来做出个一下那样一样的菜单呗。！!，,]*$")
_AGAIN = re.compile(
    r"把?上(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天]|)的?(?:菜单|菜谱)"
    r"(?:再|重新|照样)(?:发|用|来)(?:一遍|一次|一下)?(?:吧|呗)?$"
)


def _copy_request(ctx: Context) -> tuple[str, str] | None:
    """(the words before the copy words, the weekday named or ""), or None for no copy."""
    text = said(ctx)
    if len(text) > 30:
        return None
    m = _COPY.search(text)
    if m is not None and _COPY_TAIL.match(text[m.end() :]):
        return text[: m.start()], m.group("wd")
    m = _AGAIN.search(text)
    if m is not None:
        return text[: m.start()], m.group("wd")
    return None


# Both _COPY and _AGAIN name last week: a cheap test of `said` for routing (bot.router.gated).
@gate(kinds=[Kind.TEXT], test=re.compile("上(?:个)?(?:周|星期|礼拜)").search)
async def _is_copy(ctx: Context) -> bool:
    return _copy_request(ctx) is not None and await service.staff_canteen(ctx.user) is not None


def _copy_days(words: str, today: dt.date) -> list[dt.date]:
    """The days named before the copy words ("明天午餐", "下周一到周五"); tomorrow if none."""
    found = extract_dates(words, today)
    listed = [d for d in found.get("dates", []) if d not in ("weekdays", "daily")]
    if listed:
        return [dt.date.fromisoformat(d) for d in listed]
    if found.get("date"):
        start = dt.date.fromisoformat(found["date"])
        if found.get("dates") == ["weekdays"]:  # 下周一到周五
            return [start + dt.timedelta(days=i) for i in range(7 - start.weekday()) if
                    (start + dt.timedelta(days=i)).weekday() < 5]  # fmt: skip
        return [start]
    return [today + dt.timedelta(days=1)]


@router.message(_is_copy)
async def copy_last_week(ctx: Context) -> HandlerResult:
    """Staff: last week's menus as drafts for the day(s) named (tomorrow if none), shown for
    确认 as a pasted menu is; edits said in words before that."""
    asked = _copy_request(ctx)
    canteen = await service.staff_canteen(ctx.user)
    if asked is None or canteen is None:
        return None
    before, wd = asked
    today = ctx.now().date()
    meal = extract_meal(before)
    weekday = WEEKDAYS.index("日" if wd == "天" else wd) if wd else None
    try:
        copied = await service.copy_last_week(
            ctx.user, canteen, _copy_days(before, today), [Meal(meal)] if meal else None,
            today, weekday,
        )  # fmt: skip
    except DomainError as exc:
        return exc.message
    notes = [
        texts.missing(source, "、".join(MEAL_NAMES[x] for x in meals))
        for source, meals in copied.missing
    ]
    for d in copied.drafts:  # confirming replaces a published menu: a correction, pushed again
        if await service.find_menu(canteen, d.date, d.meal) is not None:
            notes.append(texts.already_published(d.date, MEAL_NAMES[d.meal]))
    data = {
        "canteen_id": canteen.pk,
        "canteen_name": canteen.name,
        "drafts": [d.to_json() for d in copied.drafts],
        "head": "\n".join([texts.DRAFT_HEAD, *notes]),
        "tail": texts.EDIT_HINT,
    }
    return await forms.start(ctx, MENU_CONFIRM, data)


@router.message(intent("menu_subscribe"))
async def subscribe(ctx: Context) -> HandlerResult:
    """ "订阅菜单": push each published menu to this resident."""
    await service.set_subscription(ctx.user, True)
    return "好的，食堂发布菜单后会第一时间推送给您。回复“退订菜单”可以取消。"


@router.message(intent("menu_unsubscribe"))
async def unsubscribe(ctx: Context) -> HandlerResult:
    """ "退订菜单": stop the pushes."""
    changed = await service.set_subscription(ctx.user, False)
    return (
        "好的，不再给您推送菜单。想看时说“今天吃什么”就行。" if changed else "您没有订阅菜单推送。"
    )


_WHAT_WORDS = ("什", "啥", "哪", "些", "多少", "几")
_DISH_Q = re.compile(r"有没有(.{1,6}?)(?:[吗呀啊呢？?]|$)|有(.{1,6}?)(?:吗|么|嘛|没有|没|不)")
_PRICE_Q = ("多少钱", "几块", "几元", "价格", "价钱", "收费", "贵不贵", "啥价", "多钱", "咋卖")
_HOURS_Q = ("几点", "开饭", "营业", "开门", "时间", "什么时候")


def _clock(hhmm: str) -> str:
    """'07:00' as people say it: '7:00'."""
    return hhmm[1:] if hhmm.startswith("0") and len(hhmm) == 5 else hhmm


def _day_label(day: dt.date, today: dt.date) -> str:
    names = {0: "今天", 1: "明天", 2: "后天"}
    rel = names.get((day - today).days)
    return rel or f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"


@router.message(intent("menu_query"))
async def menu_query(ctx: Context) -> HandlerResult:
    """What the canteen serves: a day, a meal, a dish, the price or the hours."""
    canteen = await service.default_canteen()
    if canteen is None:
        return NO_CANTEEN
    text = ctx.msg.text
    today = ctx.now().date()
    slots = ctx.nlu.slots
    day = dt.date.fromisoformat(slots["date"]) if slots.get("date") else today
    meals = await service.meals_of(canteen)
    asked_meal = Meal(slots["meal"]) if slots.get("meal") else None

    if any(w in text for w in _HOURS_Q) and not any(w in text for w in ("吃什么", "吃啥", "菜")):
        hours = "；".join(
            f"{MEAL_NAMES[m.meal]}{_clock(m.serve_from)}–{_clock(m.serve_until)}" for m in meals
        )
        return f"{canteen.name}开饭时间：{hours or '请咨询食堂'}。地址：{canteen.address}"

    wanted = [asked_meal] if asked_meal else [m.meal for m in meals] or [Meal.LUNCH]
    published = await service.find_menus(canteen, day, wanted)
    menus = [(meal, published.get(meal)) for meal in wanted]
    found = [(meal, menu) for meal, menu in menus if menu is not None]
    label = _day_label(day, today)

    if any(w in text for w in _PRICE_Q):
        prices = []
        for m in meals:
            if asked_meal and m.meal != asked_meal:
                continue
            menu = next((mn for ml, mn in found if ml == m.meal), None)
            cents = menu.price_cents if menu and menu.price_cents is not None else m.price_cents
            prices.append(f"{MEAL_NAMES[m.meal]}{yuan(cents)}")
        return f"{canteen.name}价格：{'，'.join(prices) or '请咨询食堂'}。"

    if not found:
        meal_words = MEAL_NAMES[asked_meal] if asked_meal else ""
        return (
            f"{label}{meal_words}的菜单还没发布，一般前一天下午发布。"
            "回复“订阅菜单”，发布后第一时间推送给您。"
        )

    dish_q = _DISH_Q.search(text)
    if dish_q:
        word = (dish_q.group(1) or dish_q.group(2) or "").strip("的")
        # "有什么菜" / "有啥" / "有哪些" ask what there is, not about one dish.
        if word and word not in ("菜", "饭") and not word.startswith(_WHAT_WORDS):
            hits = [
                f"{MEAL_NAMES[meal]}有{d['name']}"
                for meal, menu in found
                for d in menu.dishes
                if word in d["name"] or d["name"] in word
            ]
            if hits:
                return f"有的，{label}{'，'.join(hits)}。"
            return f"{label}的菜单里没有{word}。回复“{label}菜单”看全部菜。"

    parts = []
    for meal, menu in found:
        draft = MenuDraft.from_json(
            {
                "date": day.isoformat(),
                "meal": meal.value,
                "dishes": menu.dishes,
                "price_cents": menu.price_cents,
            }
        )
        parts.append(render_menu(canteen.name, draft))
    missing = [MEAL_NAMES[meal] for meal, menu in menus if menu is None and asked_meal]
    tail = f"\n（{'、'.join(missing)}还没发布）" if missing else ""
    return "\n\n".join(parts) + tail + f"\n{service.SIGNUP_HINT}"
