"""The console's NLU review page (/console/nlu): admins label what the bot did not understand
(scrubbed messages from bot.nlu_review) or dismiss it; labelled examples live in the database
(models.nlu) and `python main.py train-nlu` learns from them. Export as JSONL."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot import nlu_review
from bot.nlu import default_parser
from bot.nlu.labels import CATEGORIES, INTENTS, PLACES
from community.errors import DomainError
from handlers.appkeys import redis_key
from handlers.console.common import admin_session, admin_view, flash_back, render, take_flash


async def _admin_view(request: web.Request) -> dict[str, Any]:
    return await admin_view(request, "只有社区管理员可以标注。")


async def _back(request: web.Request, session: dict[str, Any], text: str) -> web.HTTPFound:
    return await flash_back(request, session, text, "/console/nlu")


async def review_page(request: web.Request) -> web.Response:
    """The newest messages waiting for a label, and the latest labelled ones."""
    session = await _admin_view(request)
    flash = await take_flash(request, session)
    lex = default_parser().lexicon
    ctx = {
        "csrf": session["csrf"],
        "flash": flash,
        "items": await nlu_review.queue(request.app[redis_key]),
        "examples": await nlu_review.recent_examples(),
        "intents": INTENTS,
        "categories": [(c, lex.labels.get(c, c)) for c in CATEGORIES],
        "places": [(p, lex.place_labels.get(p, p)) for p in PLACES],
    }
    return render(request, "nlu.html", ctx)


async def review_label(request: web.Request) -> web.Response:
    """Label one queued message (intent, and the trade or place kind where it has one)."""
    session, form = await admin_session(request)
    line = str(form.get("item", ""))
    intent = str(form.get("intent", ""))
    category = str(form.get("category", "")) or None
    place = str(form.get("place", "")) or None
    try:
        text = await nlu_review.label(
            request.app[redis_key], line, intent, category, place, session["openid"]
        )
    except DomainError as exc:
        raise await _back(request, session, exc.message) from None
    raise await _back(request, session, f"已标注：{text}（下次训练 train-nlu 时学会）")


async def review_dismiss(request: web.Request) -> web.Response:
    session, form = await admin_session(request)
    await nlu_review.take(request.app[redis_key], str(form.get("item", "")))
    raise await _back(request, session, "已忽略。")


async def examples_export(request: web.Request) -> web.Response:
    """Every labelled example as JSONL (train-nlu --extra takes the same format)."""
    await _admin_view(request)
    return web.Response(
        text=await nlu_review.examples_jsonl(),
        content_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="nlu_examples.jsonl"'},
    )


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/console/nlu", review_page)
    r.add_post("/console/nlu/label", review_label)
    r.add_post("/console/nlu/dismiss", review_dismiss)
    r.add_get("/console/nlu/examples.jsonl", examples_export)
