"""Declared multi-turn forms (aiogram StatesGroup / Rasa forms).

A form lists its steps up front. Each step turns the user's message into a slot value or raises
`Invalid` with the reason, and the step is asked again. State and data live in Redis under one
key per user, with a TTL, so a form survives interruptions. "取消" and "上一步" work everywhere
(routed in `bot.system`).

Forms survive people (Rasa's unhappy paths), for every form alike:
- leave: "算了", "不订了", "回头再说" end the form politely; its first prompt says so;
- interrupt: a question in the middle (price, menu, hours, status, a search) or another clear
  request is answered by the feature that owns it, then the form asks its step again in one line;
- correct: "地址写错了 是…", "改成两份", "晚饭也要", "不是我妈 是我爸" change the field they name
  (a step's `names`), whatever step the form is at; at the summary, "修改" offers the fields by
  number. Nothing said as a correction or a question is stored as another field.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any

from bot import acts
from bot.context import Context
from bot.messages import Kind, Reply, as_replies
from bot.router import command_text, said
from community.errors import DomainError
from community.phones import as_digits
from infra import jsontext, keys

FORM_TTL = 24 * 3600

Data = dict[str, Any]


class Invalid(DomainError):
    """The answer does not fit the step; `reason` is shown to the user before asking again.
    A step may also let a domain service's DomainError through: it is shown the same way, so
    the chat gives the reason the REST API gives."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, code="invalid_answer")
        self.reason = reason


@dataclass(frozen=True)
class Step:
    name: str
    prompt: str | Callable[[Data], str]
    # Turns the message into the slot value, or raises Invalid.
    parse: Callable[[Context, Data], Awaitable[Any]]
    # A step is skipped when this says the value is already known (returning users).
    skip: Callable[[Data], bool] | None = None
    # What the field is called at the summary ("地址"), and a regex of the words that name it in
    # a correction ("地址|住址|门牌"): a step without `names` is never corrected by name.
    label: str = ""
    names: str = ""
    # How a value is shown back ("好的，份数改成2份"); default: the text, or a list joined.
    show: Callable[[Any], str] | None = None
    # Free text (a note, a description): anything parses, so only marked corrections and
    # clear questions are kept out of it.
    free: bool = False
    # Intents the parser gives this step's answers ("午饭" reads as menu_query at "送哪一餐"),
    # and side questions that are answers here ("hours" at "几点营业"): a wrong answer of that
    # kind is asked again, not taken for another request.
    accepts: frozenset[str] = frozenset()

    def ask(self, data: Data) -> str:
        return self.prompt(data) if callable(self.prompt) else self.prompt

    def again(self, data: Data) -> str:
        """The step asked again in one line (a summary's last line is its question)."""
        lines = [line for line in self.ask(data).splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def shown(self, value: Any) -> str:
        if self.show is not None:
            return self.show(value)
        if isinstance(value, list):
            return "、".join(map(str, value))
        return str(value) if value not in ("", None) else "无"


@dataclass
class Form:
    name: str
    title: str  # shown to the user, e.g. "师傅登记"
    steps: list[Step]
    on_done: Callable[[Context, Data], Awaitable[Any]]
    # Intents that are answers here, not interruptions (e.g. a trade at "您做哪一行").
    own_intents: frozenset[str] = frozenset()
    # The first prompt says how to leave; off for one-question forms like "在哪栋楼".
    leave_hint: bool = True
    # Said when someone leaves ("算了"), if the form's own words fit better than LEFT's.
    left: str = ""
    # Said before the step asked again after a question in the middle, if not REASK's
    # "（…还没填完）" (a confirmation is not filled in).
    waiting: str = ""
    step_names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.step_names = [s.name for s in self.steps]
        if len(set(self.step_names)) != len(self.step_names):
            raise ValueError(f"form {self.name}: duplicate step names")
        FORMS[self.name] = self

    def index(self, name: str) -> int:
        return self.step_names.index(name)


FORMS: dict[str, Form] = {}

LEAVE_HINT = "（不想填了随时说“算了”）"
LEFT = "好的，{title}先不弄了，已经填的都不算数。需要时再找我。"
REASK = "（{title}还没填完）{question}"
# Asked in passing this many times in a row without the step being answered, a form is set
# aside (kept, as when another form takes over) instead of asked again under every answer:
# the resident has moved on; "继续" takes it up where it was.
ASIDES_BEFORE_SETTING_ASIDE = 3
SET_ASIDE = "刚才的{title}先放一放，要接着填就回复“继续”。"
EDIT_WORDS = {
    "修改",
    "改一下",
    "我要改",
    "要改",
    "改",
    "不对",
    "错了",
    "有错",
    "改改",
    "不是",
    "不",
}
# While a detour (a question asked in the middle) is answered by the feature that owns it, the
# form is out of the way: its routes do not catch the message again.
_DETOUR: contextvars.ContextVar[bool] = contextvars.ContextVar("form_detour", default=False)


async def _save(ctx: Context, form: Form, step: str, data: Data) -> None:
    state = {"form": form.name, "step": step, "data": data}
    await ctx.redis.set(keys.form(ctx.conv), jsontext.dumps(state), ex=FORM_TTL)


async def active(ctx: Context) -> tuple[Form, str, Data] | None:
    raw = await ctx.redis.get(keys.form(ctx.conv))
    if not raw:
        return None
    state = jsontext.loads(raw)
    form = FORMS.get(state["form"])
    if form is None or state["step"] not in form.step_names:
        await clear(ctx)  # a form removed or changed by a deploy: start afresh
        return None
    return form, state["step"], state["data"]


async def has_active(ctx: Context) -> bool:
    if _DETOUR.get():
        return False
    return await active(ctx) is not None


async def clear(ctx: Context) -> bool:
    return bool(await ctx.redis.delete(keys.form(ctx.conv)))


def _next_step(form: Form, start: int, data: Data) -> Step | None:
    given = data.get("_given", [])
    for step in form.steps[start:]:
        if step.name in given:  # set ahead by a correction ("改成两份" before the count step)
            continue
        if step.skip is None or not step.skip(data):
            return step
    return None


async def _advance(
    ctx: Context, form: Form, start: int, data: Data, lead: list[Reply], hint: str = ""
) -> list[Reply]:
    back_to = data.pop("_back_to", None)  # an edit from the summary returns to it
    step = form.steps[form.index(back_to)] if back_to else _next_step(form, start, data)
    if step is None:
        await clear(ctx)
        done = lead + as_replies(await form.on_done(ctx, data))
        if await active(ctx) is None:  # finished (not restarted): an earlier form may wait
            done += await offer_suspended(ctx)
        return done
    await _save(ctx, form, step.name, data)
    return lead + [Reply(step.ask(data) + hint)]


# ---- a form set aside for another request ------------------------------------------------------

SUSPENDED = "form_suspended"
ASIDES = "_asides"  # in a form's data: messages in a row answered aside (see _detour)
OFFER_RESUME = "刚才的{title}还没填完，回复“继续”接着填。"


async def suspend(ctx: Context, raw: str | None = None) -> None:
    """Set the active form aside (a new request starts another form): it is kept for its TTL
    and offered again when the new one is done or left ("继续" takes it up). `raw`: the form's
    state as it is to be kept (default: as stored)."""
    if raw is None:
        raw = await ctx.redis.get(keys.form(ctx.conv))
    if raw:
        await ctx.redis.set(keys.scratch(ctx.conv, SUSPENDED), raw, ex=FORM_TTL)


async def offer_suspended(ctx: Context) -> list[Reply]:
    raw = await ctx.redis.get(keys.scratch(ctx.conv, SUSPENDED))
    if not raw:
        return []
    form = FORMS.get(jsontext.loads(raw)["form"])
    return [Reply(OFFER_RESUME.format(title=form.title))] if form else []


async def resume_suspended(ctx: Context) -> list[Reply] | None:
    """ "继续" with no form active: take up the form set aside, at its step; None if none."""
    raw = await ctx.redis.getdel(keys.scratch(ctx.conv, SUSPENDED))
    if not raw:
        return None
    kept = jsontext.loads(raw)
    kept.get("data", {}).pop(ASIDES, None)  # taken up again: the count of asides starts over
    await ctx.redis.set(keys.form(ctx.conv), jsontext.dumps(kept), ex=FORM_TTL)
    state = await active(ctx)
    if state is None:
        return None
    form, step_name, data = state
    step = form.steps[form.index(step_name)]
    return [Reply(f"好的，接着填{form.title}。\n{step.ask(data)}")]


async def start(ctx: Context, form: Form, data: Data | None = None, intro: str = "") -> list[Reply]:
    """Begin (or restart) `form` for this user; `data` pre-fills known slots. The first prompt
    says how to leave."""
    lead = [Reply(intro)] if intro else []
    hint = LEAVE_HINT if form.leave_hint else ""
    return await _advance(ctx, form, 0, dict(data or {}), lead, hint)


def _with_text(ctx: Context, text: str) -> Context:
    """The same message with other text, for a step parser fed a part of it."""
    return Context(replace(ctx.msg, text=text), ctx.services, ctx.state)


async def handle(ctx: Context) -> list[Reply] | None:
    """Feed the message to the user's active form; None when there is none.

    In order: leave; a choice of field to change (after "修改"); a correction naming a field;
    a question asked in the middle (answered, then the step again); the step's own answer,
    and when that does not parse but the message is another clear request, that request."""
    state = await active(ctx)
    if state is None:
        return None
    form, step_name, data = state
    step = form.steps[form.index(step_name)]
    text = command_text(ctx.msg.text) if ctx.msg.kind is Kind.TEXT else ""
    if text and acts.is_leave(ctx.msg.text):
        await clear(ctx)
        left = form.left or LEFT.format(title=form.title)
        return [Reply(left), *await offer_suspended(ctx)]
    if text and await ctx.services.root_router().wanted_anywhere(ctx):
        return await _detour(ctx, form, step, data)  # "我反映的事怎么样了", "删除我的信息"
    if text and data.get("_choosing"):
        chosen = await _choose_field(ctx, form, step, data, text)
        if chosen is not None:
            return chosen
    if text and step.name == "confirm" and text in EDIT_WORDS:
        return await _offer_fields(ctx, form, step, data)
    if text and step.name != "confirm" and text in {"不对", "错了", "说错了", "写错了"}:
        return await back(ctx)
    if text and acts.needs_a_moment(ctx.msg.text):
        return [Reply(f"好的，不着急。想好了直接回复就行：\n{step.again(data)}")]
    # "什么意思", "啊？": the question again, plainly, without "没听明白"
    if ctx.msg.kind is Kind.TEXT and acts.lost(ctx.msg.text):
        return [Reply(f"我在问：{step.again(data)}\n不想填了随时说“算了”。")]
    if text and acts.small_talk(text) is not None:  # "谢谢" in the middle: answered, form waits
        return await _detour(ctx, form, step, data)
    if text and acts.is_correction(text):
        corrected = await _correct(ctx, form, step, data, text)
        if corrected is not None:
            return corrected
    if text and _asks_aside(ctx, form, step, text):
        return await _detour(ctx, form, step, data)
    if text and step.free and _BARE_NUMBER.match(text):
        given = await _ahead_by_value(ctx, form, step, data, text)
        if given is not None:
            return given
    asides = data.pop(ASIDES, 0)  # the form has the resident's attention again
    before = "" if asides else jsontext.dumps(data, sort_keys=True)
    try:
        value = await step.parse(ctx, data)
    except DomainError as exc:
        short = len(text) <= acts.SHORT  # a pasted page is no answer given ahead
        if text and short and (given := await _correct(ctx, form, step, data, text, ahead=True)):
            return given
        if text and _other_request(ctx, form, step):
            return await _detour(ctx, form, step, data)
        if jsontext.dumps(data, sort_keys=True) != before:
            await _save(ctx, form, step.name, data)  # the step counts attempts, say
        return [Reply(f"{exc.message}\n{step.ask(data)}")]
    data[step.name] = value
    return await _advance(ctx, form, form.index(step.name) + 1, data, [])


# ---- leaving, asides and corrections ---------------------------------------------------------

# Intents that are never an answer to a step: asked in a form, they are a detour.
_ASIDE_INTENTS = {
    "menu_query",
    "delivery_status",
    "delivery_cancel",
    "delivery_signup",
    "find_craftsman",
    "find_place",
    "menu_subscribe",
    "menu_unsubscribe",
    "contact_grid_worker",
    "craftsman_register",
    "help",
}


def _asks_aside(ctx: Context, form: Form, step: Step, text: str) -> bool:
    """A question asked in passing ("多少钱", "今天吃什么", "我订了几天"), before the step reads it:
    a question is never stored as a field (not even in a free-text step)."""
    if acts.looks_like_report(text):  # a volunteer's "3 送到" is a report whatever the form
        return True
    side = acts.side_question(text)
    if side is None or side in step.accepts:  # "几点营业都行" answers "几点营业？"
        return False
    if side in ("price", "hours", "status"):  # "送餐多少钱" is a question even in the sign-up
        return True
    if ctx.nlu.intent in form.own_intents:  # "明天不用送了" answers the cancel form
        return False
    if side == "search":  # "找个修鞋的" is a search; "找网格员" in the grid form is not
        return ctx.nlu.intent in ("find_craftsman", "find_place")
    return True


def _other_request(ctx: Context, form: Form, step: Step) -> bool:
    """A message that did not answer the step and is clearly something else (not about one
    of this form's fields: "没有紧急联系人" is the sign-up's, whatever the parser thinks)."""
    intent = ctx.nlu.intent
    if intent not in _ASIDE_INTENTS or intent in form.own_intents | step.accepts:
        return False
    if not getattr(ctx.nlu, "confident", True):
        return False
    text = ctx.msg.text[: acts.SHORT]
    return not any(s.names and re.search(s.names, text) for s in form.steps)


_SIDE_INTENT = {"price": "menu_query", "hours": "menu_query", "menu": "menu_query",
                "status": "delivery_status", "cancel": "delivery_cancel",
                "help": "help"}  # fmt: skip


def side_intent(ctx: Context) -> str | None:
    """The intent a side question stands for when the parser did not say (e.g. "多少钱")."""
    if ctx.nlu.intent not in ("unknown", "help"):
        return None
    side = acts.side_question(ctx.msg.text)
    intent = _SIDE_INTENT.get(side or "")
    return intent if intent != ctx.nlu.intent else None


def with_intent(ctx: Context, intent: str) -> Context:
    """A context whose parse says `intent` (a rule knew better than the parser)."""
    sub = Context(ctx.msg, ctx.services, ctx.state)
    changes: dict[str, Any] = {"intent": intent}
    if hasattr(ctx.nlu, "confident"):  # a reading the dialogue layer is sure of
        changes["confident"] = True
    sub.__dict__["nlu"] = replace(ctx.nlu, **changes)
    return sub


async def _detour(ctx: Context, form: Form, step: Step, data: Data) -> list[Reply]:
    """Answer the message as if no form were active, then ask the step again in one line. If
    the answer started another form (a new request), that one goes on instead."""
    token = _DETOUR.set(True)
    before = await ctx.redis.get(keys.form(ctx.conv))
    try:
        intent = side_intent(ctx)
        sub = with_intent(ctx, intent) if intent else Context(ctx.msg, ctx.services, ctx.state)
        replies = await ctx.services.root_router().dispatch(sub) or []
    finally:
        _DETOUR.reset(token)
    now = await active(ctx)
    if now is not None and now[0] is not form and before:
        await suspend(ctx, before)  # another form took over: this one is set aside, not lost
        return replies
    if now is None or now[0] is not form or now[1] != step.name:
        return replies
    kept = now[2]
    kept[ASIDES] = kept.get(ASIDES, 0) + 1
    if kept[ASIDES] >= ASIDES_BEFORE_SETTING_ASIDE:
        kept.pop(ASIDES)
        await suspend(ctx, jsontext.dumps({"form": form.name, "step": step.name, "data": kept}))
        await clear(ctx)
        return replies + [Reply(SET_ASIDE.format(title=form.title))]
    await _save(ctx, form, step.name, kept)
    question = step.again(data)
    again = (
        f"{form.waiting}{question}"
        if form.waiting
        else REASK.format(title=form.title, question=question)
    )
    return replies + [Reply(again)]


def _target(
    form: Form, current: Step, data: Data, text: str, ahead: bool = False
) -> tuple[Step, str] | None:
    """The step a correction names, and its new value; with `ahead`, also a step not answered
    yet (a value given before it is asked: "两份吧" while the days are asked)."""
    m = acts.NOT_BUT.search(text)
    if m:  # "不是我妈 是我爸": the field whose value was the wrong one
        wrong, right = m.group(1).strip(" ，,"), m.group(2).strip(" ，,")
        for step in form.steps:
            value = data.get(step.name)
            if isinstance(value, str) and value and (wrong in value or value in wrong):
                return step, right
    best: tuple[int, int, Step] | None = None
    for i, step in enumerate(form.steps):
        if not step.names or step.name == "confirm":
            continue
        for found in re.finditer(step.names, text):
            span = (found.end() - found.start(), i)
            if best is None or span > best[:2]:
                best = (*span, step)
    if best is None or (best[2].name not in data and not ahead):
        return None  # a correction changes only what was said (or known) before
    step = best[2]
    value = acts.correction_value(text) if acts.is_correction(text) else text
    return step, value


async def _correct(
    ctx: Context, form: Form, current: Step, data: Data, text: str, ahead: bool = False
) -> list[Reply] | None:
    """A correction naming a field ("地址写错了 是…"), or with `ahead` a message that did not
    answer the current step but names another field and fits it ("我手机 139…" while the days
    are asked): that field is set, and the current step asked again."""
    found = _target(form, current, data, text, ahead)
    if found is None:
        return None
    step, value = found
    if step is current and current.name != "confirm":
        return None  # the step being asked anyway: read the message as its answer
    merge = bool(acts.MERGE.search(text))
    work = {k: v for k, v in data.items()}
    try:
        new = await step.parse(_with_text(ctx, value or text), work)
    except DomainError as exc:
        if ahead:
            return None
        return [Reply(f"没改成：{exc.message}\n{current.again(data)}")]
    if merge and isinstance(new, list) and isinstance(data.get(step.name), list):
        new = data[step.name] + [v for v in new if v not in data[step.name]]
    was_new = step.name not in data
    work[step.name] = new
    if form.index(step.name) > form.index(current.name):
        work["_given"] = sorted(set(work.get("_given", [])) | {step.name})
    data.clear()
    data.update(work)
    await _save(ctx, form, current.name, data)
    label = step.label if step.label and not step.label.startswith("哪") else ""
    if ahead and was_new:
        said = f"好的，{step.label or '这个'}记下了：{step.shown(new)}。"
    else:
        said = f"好的，{label}改成{step.shown(new)}。"
    question = current.ask(data) if current.name == "confirm" else current.again(data)
    return [Reply(f"{said}\n{question}")]


# A message that is only a number ("13912345678", "139 1234 5678"): no note or description.
_BARE_NUMBER = re.compile(r"^[+\d][\d\s\-]{6,20}$")


async def _ahead_by_value(
    ctx: Context, form: Form, current: Step, data: Data, text: str
) -> list[Reply] | None:
    """A bare number sent at a free-text step (the phone given while the diet is asked): it is
    no note, so the first later phone step (named by 电话) not answered yet that reads it keeps
    it, and the free step is asked again. None when no such step takes it."""
    for step in form.steps[form.index(current.name) + 1 :]:
        if step.name in data or not step.names or not re.search(step.names, "电话"):
            continue
        work = dict(data)
        try:
            new = await step.parse(_with_text(ctx, text), work)
        except DomainError:
            continue
        work[step.name] = new
        work["_given"] = sorted(set(work.get("_given", [])) | {step.name})
        data.clear()
        data.update(work)
        await _save(ctx, form, current.name, data)
        said = f"好的，{step.label or '这个'}记下了：{step.shown(new)}。"
        return [Reply(f"{said}\n{current.again(data)}")]
    return None


def _editable(form: Form, data: Data) -> list[Step]:
    return [s for s in form.steps if s.label and s.name in data and s.name != "confirm"]


async def _offer_fields(ctx: Context, form: Form, step: Step, data: Data) -> list[Reply]:
    """ "修改" at the summary: the fields by number (a bare number now means one of them)."""
    fields = _editable(form, data)
    if not fields:  # nothing labelled: start again, as before
        data["_choosing"] = False
        return await start(ctx, form, {}, intro="好的，我们重新填一遍。")
    data["_choosing"] = True
    await _save(ctx, form, step.name, data)
    listed = "\n".join(f"{i}. {s.label}：{s.shown(data[s.name])}" for i, s in enumerate(fields, 1))
    return [Reply(f"要改哪一项？回复数字：\n{listed}\n也可以直接说，比如“地址改成3号楼2单元401”。")]


_NUMBER = re.compile(r"^第?([1-9]|[一二三四五六七八九])(?:项|个|条)?$")


async def _choose_field(
    ctx: Context, form: Form, step: Step, data: Data, text: str
) -> list[Reply] | None:
    fields = _editable(form, data)
    m = _NUMBER.match(text)
    chosen: Step | None = None
    if m:
        n = "一二三四五六七八九".find(m.group(1)) + 1 or int(m.group(1))
        if 1 <= n <= len(fields):
            chosen = fields[n - 1]
        else:
            return [Reply(f"请回复1到{len(fields)}之间的数字。")]
    else:
        for s in fields:
            if s.names and re.fullmatch(f"(?:{s.names})", text) or text == s.label:
                chosen = s
    data["_choosing"] = False
    if chosen is None:
        await _save(ctx, form, step.name, data)
        return None
    data["_back_to"] = step.name
    await _save(ctx, form, chosen.name, data)
    return [Reply(chosen.ask(data))]


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
    answer in `skip` leaves it empty, and `hint` says so when the number is wrong. The number
    may sit among words, spaces and dashes ("就是我 138-1234-5678")."""

    async def parse(ctx: Context, data: Data) -> str:
        text = said(ctx)
        if text in skip:
            return ""
        # "没有紧急联系人", "不用留了": a skip word leading a sentence without a number.
        if any(text.startswith(w) for w in skip if len(w) >= 2) and not re.search(r"\d", text):
            return ""
        try:
            return normalise(text)
        except ValueError as exc:
            for run in _DIGIT_RUN.findall(as_digits(text)):
                try:
                    return normalise(run.strip(" -"))
                except ValueError:
                    continue
            raise Invalid(f"{exc}。{hint}" if hint else str(exc)) from None

    return parse


def confirm_step(
    retry: str, also: Collection[str] = (), *, may_refuse: bool = True
) -> Callable[[Context, Data], Awaitable[bool]]:
    """The answer to a form's summary: a yes (or a word of `also`, such as "报名") confirms;
    with `may_refuse`, a no ("修改") offers the fields to change; anything else re-asks with
    `retry`, in the form's own words."""

    async def parse(ctx: Context, data: Data) -> bool:
        answer = said(ctx)
        if answer in YES or answer in also:
            return True
        if may_refuse and answer in NO:
            return False
        raise Invalid(retry)

    return parse


_DIGIT_RUN = re.compile(r"\+?[\d\s\-()（）—－–]{7,24}")

# A yes as people say it: "确认", and also "好的 确认", "嗯嗯", "没问题 就这样", "对 没错": an
# answer made only of these words (each matched once, left to right: no nested quantifier).
_YES_WORD = re.compile(
    r"(?:好的?|嗯|对的?|是的?|行|可以的?|没问题|确认|确定|ok|没错|就这样|就这么定了|提交)"
    r"(?:吧|了|啊|呀|的)?",
    re.IGNORECASE,
)
_YES_GAPS = re.compile(r"[，,。.!！\s]")


class _Yes(frozenset[str]):
    """The plain yes words; `in` also accepts a run of them ("好的 确认", "嗯嗯")."""

    def __contains__(self, answer: object) -> bool:
        if super().__contains__(answer):
            return True
        if not isinstance(answer, str) or not answer.strip() or len(answer) > 30:
            return False
        words = _YES_GAPS.sub("", answer)
        return bool(words) and _YES_WORD.sub("", words) == ""


YES = _Yes(
    {"确认", "是", "是的", "对", "对的", "好", "好的", "可以", "行", "没问题", "确定", "嗯"}
    | {"ok", "OK"}
)
NO = {"不对", "不是", "错了", "修改", "改一下", "重新填", "重填", "不"}
