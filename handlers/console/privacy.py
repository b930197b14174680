"""The console's privacy page (/console/privacy): admins see the residents' erasure requests
(删除我的信息): who asked (a digest, the account itself is gone), when, done or held back,
and what was removed or anonymised. Read from privacy.service's log."""

from __future__ import annotations

from aiohttp import web

from community.clock import SHANGHAI
from handlers.console.common import admin_view, render
from models.users import ErasureStatus
from privacy import service

# What each count of the log is, in the staff's words (privacy.service.erase writes them).
REMOVED_NAMES = {
    "cancelled": "取消送餐报名",
    "recipients": "送餐地址/电话（匿名化）",
    "reports": "反映的事（匿名化）",
    "reviews": "评价（去掉身份）",
    "complaints": "投诉（去掉身份）",
    "subscriptions": "菜单订阅",
    "family_links": "家人绑定",
    "pushes": "已发消息记录",
    "account": "账号",
    "courier": "快递/外卖志愿者登记",
    "tasks": "志愿者积分任务",
}


async def privacy_page(request: web.Request) -> web.Response:
    session = await admin_view(request, "只有社区管理员可以查看删除信息的记录。")
    rows = [
        {
            "who": r.who,
            "asked": r.asked_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"),
            "done": r.status is ErasureStatus.DONE,
            "removed": [
                f"{REMOVED_NAMES.get(k, k)} {v}" for k, v in r.removed.items() if v
            ],
        }
        for r in await service.erasure_log()
    ]
    return render(request, "privacy.html", {"csrf": session["csrf"], "records": rows})


def setup(app: web.Application) -> None:
    app.router.add_get("/console/privacy", privacy_page)
