"""Declared multi-turn forms (aiogram StatesGroup / Rasa forms).

A form lists its steps up front. Each step turns the user's message into a slot value or raises
`Invalid` with the reason, and the step is asked again. State and data live in Redis under one
key per user, with a TTL, so a form survives interruptions. "取消" and "上一步" work everywhere
(routed in `bot.system`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from bot.context import Context
from bot.messages import Kind, Reply, as_replies
from bot.router import command_text
from infra import keys

FORM_TTL = 24 * 3600

Data = dict[str, Any]


class Invalid(Exception):
    """The answer does not fit the step; `reason` is shown to the user before asking again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Step:
    name: str
    prompt: str | Callable[[Data], str]
    # Turns the message into the slot value, or raises Invalid.
    parse: Callable[[Context, Data], Awaitable[Any]]
    # A step is skipped when this says the value is already known (returning users).
    skip: Callable[[Data], bool] | None = None

    def ask(self, data: Data) -> str:
        return self.prompt(data) if callable(self.prompt) else self.prompt


@dataclass
class Form:
    name: str
    title: str  # shown to the user, e.g. "师傅登记"
    steps: list[Step]
    on_done: Callable[[Context, Data], Awaitable[Any]]
    step_names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.step_names = [s.name for s in self.steps]
        if len(set(self.step_names)) != len(self.step_names):
            raise ValueError(f"form {self.name}: duplicate step names")
        FORMS[self.name] = self

    def index(self, name: str) -> int:
        return self.step_names.index(name)


FORMS: dict[str, Form] = {}


async def _save(ctx: Context, form: Form, step: str, data: Data) -> None:
    state = {"form": form.name, "step": step, "data": data}
    await ctx.redis.set(keys.form(ctx.conv), json.dumps(state, ensure_ascii=False), ex=FORM_TTL)


async def active(ctx: Context) -> tuple[Form, str, Data] | None:
    raw = await ctx.redis.get(keys.form(ctx.conv))
    if not raw:
        return None
    state = json.loads(raw)
    form = FORMS.get(state["form"])
    if form is None or state["step"] not in form.step_names:
        await clear(ctx)  # a form removed or changed by a deploy: start afresh
        return None
    return form, state["step"], state["data"]


async def has_active(ctx: Context) -> bool:
    return await active(ctx) is not None


async def clear(ctx: Context) -> bool:
    return bool(await ctx.redis.delete(keys.form(ctx.conv)))


def _next_step(form: Form, start: int, data: Data) -> Step | None:
    for step in form.steps[start:]:
        if step.skip is None or not step.skip(data):
            return step
    return None


async def _advance(
    ctx: Context, form: Form, start: int, data: Data, lead: list[Reply]
) -> list[Reply]:
    step = _next_step(form, start, data)
    if step is None:
        await clear(ctx)
        return lead + as_replies(await form.on_done(ctx, data))
    await _save(ctx, form, step.name, data)
    return lead + [Reply(step.ask(data))]


async def start(ctx: Context, form: Form, data: Data | None = None, intro: str = "") -> list[Reply]:
    """Begin (or restart) `form` for this user; `data` pre-fills known slots."""
    lead = [Reply(intro)] if intro else []
    return await _advance(ctx, form, 0, dict(data or {}), lead)


async def handle(ctx: Context) -> list[Reply] | None:
    """Feed the message to the user's active form; None when there is none."""
    state = await active(ctx)
    if state is None:
        return None
    form, step_name, data = state
    step = form.steps[form.index(step_name)]
    try:
        value = await step.parse(ctx, data)
    except Invalid as exc:
        return [Reply(f"{exc.reason}\n{step.ask(data)}")]
    data[step.name] = value
    return await _advance(ctx, form, form.index(step.name) + 1, data, [])


async def back(ctx: Context) -> list[Reply] | None:
    """Go back to the previous asked step; None when no form is active."""
    state = await active(ctx)
    if state is None:
        return None
    form, step_name, data = state
    current = form.index(step_name)
    for i in range(current - 1, -1, -1):
        step = form.steps[i]
        data.pop(step.name, None)
        if step.skip is None or not step.skip(data):
            await _save(ctx, form, step.name, data)
            return [Reply(step.ask(data))]
    return [Reply(f"已经是第一步了。\n{form.steps[current].ask(data)}")]


async def repeat(ctx: Context) -> list[Reply] | None:
    state = await active(ctx)
    if state is None:
        return None
    form, step_name, data = state
    return [Reply(form.steps[form.index(step_name)].ask(data))]


# ---- common step parsers ---------------------------------------------------------------------


def text_step(
    min_len: int = 1, max_len: int = 200, what: str = "内容"
) -> Callable[[Context, Data], Awaitable[str]]:
    async def parse(ctx: Context, data: Data) -> str:
        if ctx.msg.kind is not Kind.TEXT:
            raise Invalid(f"请用文字回复{what}。")
        value = ctx.msg.text.strip()
        if len(value) < min_len:
            raise Invalid(f"{what}太短了。")
        if len(value) > max_len:
            raise Invalid(f"{what}太长了，请不超过{max_len}个字。")
        return value

    return parse


def phone_step(
    normalise: Callable[[str], str], skip: Collection[str] = (), hint: str = ""
) -> Callable[[Context, Data], Awaitable[str]]:
    """A phone number, checked by `normalise` (which raises ValueError with the reason); an
    answer in `skip` leaves it empty, and `hint` says so when the number is wrong."""

    async def parse(ctx: Context, data: Data) -> str:
        text = command_text(ctx.msg.text) if ctx.msg.kind is Kind.TEXT else ""
        if text in skip:
            return ""
        try:
            return normalise(text)
        except ValueError as exc:
            raise Invalid(f"{exc}。{hint}" if hint else str(exc)) from None

    return parse


YES = {
    "确认",
    "是",
    "是的",
    "对",
    "对的",
    "好",
    "好的",
    "可以",
    "行",
    "没问题",
    "确定",
    "嗯",
    "ok",
    "OK",
}
NO = {"不对", "不是", "错了", "修改", "改一下", "重新填", "重填", "不"}
