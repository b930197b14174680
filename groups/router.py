"""Group chats in the bot: staff paste a 接龙 (preview, then 确认), say 生成接龙 for the text
to post; an admin binds a group to the canteen and area from inside the group."""

from __future__ import annotations

import datetime as dt
import operator
import re

from bot import forms
from bot.context import Context
from bot.forms import Form, Invalid, Step
from bot.messages import Kind
from bot.router import HandlerResult, Router, command_text, gated
from canteen import service as canteen_service
from groups import service
from groups.jielong import ChainError, looks_like_chain, parse_chain
from models.canteen import Canteen, Meal

router = Router("groups")

NOT_POSTED = "（没有发到群：要企业微信机器人的长连接，并先在群里“绑定本群”。请复制上面的文字。）"
ONLY_STAFF = "接龙报名要由食堂工作人员导入。自己报名请说“送餐”。"


def _text(ctx: Context) -> str:
    return ctx.msg.text if ctx.msg.kind is Kind.TEXT else ""


async def _staff_canteen(ctx: Context) -> Canteen | None:
    """Staff's canteen; in a bound group, the group's canteen when they may act for it."""
    binding = await service.binding_of(ctx.msg.chat)
    if binding is not None:
        canteen = await Canteen.get_or_none(pk=binding.canteen_id)
        if canteen is not None and await canteen_service.may_publish(ctx.user, canteen):
            return canteen
    return await canteen_service.staff_canteen(ctx.user)


# ---- 接龙 in ----------------------------------------------------------------------------------


async def _confirm(ctx: Context, data: forms.Data) -> str:
    if looks_like_chain(_text(ctx)):
        return "again"  # a corrected chain pasted instead: it replaces this preview
    if command_text(_text(ctx)) in forms.YES:
        return "yes"
    raise Invalid("请回复“确认”按上面办理，或回复“取消”放弃。")


async def _book(ctx: Context, data: forms.Data) -> HandlerResult:
    if data["confirm"] == "again":
        return await chain_pasted(ctx)
    preview = service.Preview.from_json(data["preview"])
    try:
        done = await service.apply_preview(preview, ctx.now())
    except service.ChainProblem as exc:
        return str(exc)
    return service.render_outcome(done)


CHAIN_CONFIRM = Form(
    name="groups.chain_confirm",
    title="导入接龙",
    steps=[Step("confirm", lambda data: data["shown"], _confirm)],
    on_done=_book,
)


# A 接龙 has the word near its start (#接龙, or in its first line), which `command_text` keeps.
_CHAIN_SAID = re.compile("接龙")


@router.message(
    gated(lambda ctx: looks_like_chain(_text(ctx)), kinds=[Kind.TEXT], test=_CHAIN_SAID.search)
)
async def chain_pasted(ctx: Context) -> HandlerResult:
    """A 接龙 pasted by canteen staff: a preview line by line; 确认 books it."""
    canteen = await _staff_canteen(ctx)
    if canteen is None:
        return ONLY_STAFF
    today = ctx.now().date()
    try:
        chain = parse_chain(_text(ctx), today)
        preview = await service.preview_chain(canteen, chain, ctx.now(), ctx.msg.chat)
    except (ChainError, service.ChainProblem) as exc:
        return str(exc)
    shown = service.render_preview(preview, canteen.name, today)
    if not preview.changes:
        return shown
    data = {"preview": preview.to_json(), "shown": shown}
    return await forms.start(ctx, CHAIN_CONFIRM, data)


# ---- 接龙 out ---------------------------------------------------------------------------------

_MEALS = {"早": Meal.BREAKFAST, "午": Meal.LUNCH, "中": Meal.LUNCH, "晚": Meal.DINNER}


@router.message(
    gated(
        lambda ctx: command_text(_text(ctx)).startswith("生成接龙"),
        kinds=[Kind.TEXT],
        test=operator.methodcaller("startswith", "生成接龙"),
    )
)
async def chain_out(ctx: Context) -> HandlerResult:
    """ "生成接龙" (optionally 午餐/晚餐): tomorrow's chain for staff to post in the group."""
    canteen = await _staff_canteen(ctx)
    if canteen is None:
        return "只有食堂工作人员可以生成接龙。"
    rest = command_text(_text(ctx))[4:]
    meal = next((m for w, m in _MEALS.items() if w in rest), None)
    text = await service.chain_to_post(canteen, ctx.now().date() + dt.timedelta(days=1), meal)
    if "发到群" not in rest:
        return text
    # "生成接龙 发到群": the WeCom bot posts it in every group bound to the canteen (over its
    # long connection: a bot can speak first only there).
    settings = ctx.services.settings
    bot_id = getattr(settings, "wecom_bot_id", None)
    groups = await service.bound_groups(canteen)
    if not (bot_id and getattr(settings, "wecom_bot_secret", None)) or not groups:
        return f"{text}\n\n{NOT_POSTED}"
    for chat_id in groups:
        await service.push_to_group(ctx.services.redis, bot_id, chat_id, text)
    return f"已交给企业微信机器人发到{len(groups)}个群。\n\n{text}"


# ---- binding a group --------------------------------------------------------------------------


@router.message(
    gated(
        lambda ctx: command_text(_text(ctx)).startswith("绑定本群"),
        kinds=[Kind.TEXT],
        test=operator.methodcaller("startswith", "绑定本群"),
    )
)
async def bind_group(ctx: Context) -> HandlerResult:
    """ "绑定本群 [食堂名] 1-5号楼": an admin ties this group to the canteen and an area."""
    if not ctx.msg.chat:
        return "请在要绑定的群里@我说“绑定本群 1-5号楼”。"
    if not await service.is_admin(ctx.user):
        return "只有社区管理员可以绑定群。"
    words = command_text(_text(ctx))[4:].split()
    canteen = None
    for w in list(words):
        if (found := await Canteen.get_or_none(name=w)) is not None:
            canteen = found
            words.remove(w)
            break
    canteen = canteen or await canteen_service.default_canteen()
    if canteen is None:
        return "本社区还没有登记食堂，请先添加食堂。"
    area = "".join(words)
    await service.bind_group(ctx.msg.chat, canteen, area, ctx.user)
    where = f"，片区：{area}" if area else ""
    return f"本群已绑定{canteen.name}{where}。群里问“附近”按这里算，接龙也报到这个食堂。"
