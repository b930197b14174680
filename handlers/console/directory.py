"""The console's craftsman directory: admins approve, reject (after a confirmation page) or
reinstate craftsmen and decide complaints; the dashboard's queues. The rules and the messages
to craftsmen are craftsman_directory.service's."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from community import hours
from community.clock import SHANGHAI
from craftsman_directory import service as directory_service
from handlers.console.common import (
    admin_session,
    admin_view,
    confirm_page,
    flash_back,
    render,
    take_flash,
)
from handlers.keys import bot_key, redis_key
from models.directory import Review, Status

ACTIONS = {
    "approve": (directory_service.approve, "已通过"),
    "reject": (directory_service.reject, "已拒绝"),
    "reinstate": (directory_service.reinstate, "已恢复"),
}


async def queues() -> dict[str, Any]:
    """The admins' part of the dashboard: who waits for approval, who is suspended, and the
    complaints not yet decided."""
    return {
        "pending": await directory_service.with_status(Status.PENDING),
        "suspended": await directory_service.with_status(Status.SUSPENDED),
        "complaints": await directory_service.open_complaints(),
        # Changes approved craftsmen asked for by chat that wait for the community (新行当, 远搬).
        "listing_changes": await directory_service.waiting_changes(),
        "field_name": directory_service.FIELD_ZH,
        "category_name": directory_service.category_name,
    }


async def craftsman_action(request: web.Request) -> web.Response:
    """Approve, reject (after a confirmation page) or reinstate a craftsman."""
    session, form = await admin_session(request)
    action = ACTIONS.get(request.match_info["action"])
    cid = request.match_info["craftsman_id"]
    if action is None or not cid.isdigit():
        raise web.HTTPNotFound()
    fn, done = action
    if request.match_info["action"] == "reject" and form.get("confirm") != "1":
        # Rejecting cannot be undone from here: ask once, naming who.
        craftsman = await directory_service.find(int(cid))
        if craftsman is None:
            raise await flash_back(request, session, f"没有#{cid}这位师傅。")
        return confirm_page(
            request, session, f"/console/craftsmen/{cid}/reject", {},
            f"确定拒绝师傅 #{craftsman.pk} {craftsman.name} 的登记吗？", "确定拒绝",
        )  # fmt: skip
    notify = request.app[bot_key].services.notify
    try:
        craftsman = await fn(request.app[redis_key], notify, int(cid))
    except directory_service.DirectoryError as exc:
        raise await flash_back(request, session, str(exc)) from None
    raise await flash_back(request, session, f"{done}：#{craftsman.pk} {craftsman.name}")


async def complaint_decision(request: web.Request) -> web.Response:
    """Uphold (after a confirmation page) or dismiss a complaint."""
    session, form = await admin_session(request)
    cid = request.match_info["complaint_id"]
    if not cid.isdigit():
        raise web.HTTPNotFound()
    upheld = form.get("upheld") == "1"
    if upheld and form.get("confirm") != "1":
        # An upheld complaint counts toward suspending the craftsman: ask once.
        complaint = await directory_service.find_complaint(int(cid))
        if complaint is None:
            raise await flash_back(request, session, f"没有投诉#{cid}。")
        question = (
            f"确定投诉#{complaint.pk}成立吗？师傅 #{complaint.craftsman.pk} "
            f"{complaint.craftsman.name}，原因：{complaint.reason}。成立的投诉会计入停用次数。"
        )
        return confirm_page(
            request, session, f"/console/complaints/{cid}/decision", {"upheld": "1"},
            question, "确定成立",
        )  # fmt: skip
    notify = request.app[bot_key].services.notify
    try:
        complaint, suspended = await directory_service.decide_complaint(
            request.app[redis_key], notify, int(cid), upheld
        )
    except directory_service.DirectoryError as exc:
        raise await flash_back(request, session, str(exc)) from None
    text = f"投诉#{complaint.pk}已记为{'成立' if upheld else '不成立'}。"
    if suspended:
        text += "该师傅投诉成立次数已到上限，已停用。"
    raise await flash_back(request, session, text)


async def craftsman_page(request: web.Request) -> web.Response:
    """One craftsman: the listing, changes waiting for approval (通过/拒绝 as for a new
    registration), reviews with the craftsman's replies, and who changed what, when."""
    session = await admin_view(request, "只有社区管理员可以查看师傅详情。")
    cid = request.match_info["craftsman_id"]
    craftsman = await directory_service.find(int(cid)) if cid.isdigit() else None
    if craftsman is None:
        raise web.HTTPNotFound(text="没有这位师傅。")
    reviews = await Review.filter(craftsman=craftsman).order_by("-created_at", "-id").limit(100)
    changes = await directory_service.history(craftsman)
    return render(
        request,
        "craftsman.html",
        {
            "csrf": session["csrf"],
            "flash": await take_flash(request, session),
            "c": craftsman,
            "trades": "、".join(directory_service.category_name(x) for x in craftsman.categories),
            "status": directory_service.STATUS_ZH[craftsman.status],
            "hours": hours.in_words(craftsman.hours),
            "pending": [x for x in changes if x.pending],
            "changes": changes,
            "reviews": reviews,
            "field_name": directory_service.FIELD_ZH,
            "when": lambda t: t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if t else "",
            "who": lambda openid: "师傅本人" if openid == craftsman.openid else openid,
        },
    )
