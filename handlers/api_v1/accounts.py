"""Logging in from the mini-program, and what a user can see about themselves."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from canteen import service as canteen_service
from craftsman_directory import service as directory_service
from handlers.api_v1.core import (
    Access,
    ApiError,
    Call,
    Caller,
    Endpoint,
    invalid,
    new_session,
    obj,
    ok,
    ref,
)
from handlers.api_v1.core import end_session as _end_session
from handlers.keys import mini_api_key
from models.canteen import MenuSubscription
from models.directory import Craftsman
from models.users import RoleGrant, User
from wechat_api.client import WeChatAPIError

log = logging.getLogger(__name__)

# jscode2session errors that mean the code itself is bad (used, expired, forged).
BAD_CODE = {40029, 40163, 40226}


async def login(call: Call) -> web.Response:
    """`wx.login()` code → our own bearer token. WeChat's session_key is never kept or shown."""
    try:
        session = await call.app[mini_api_key].jscode2session(call.body["code"])
    except WeChatAPIError as exc:
        if exc.errcode in BAD_CODE:
            raise invalid({"code": "登录凭证无效或已过期，请重新登录"}) from None
        log.warning("jscode2session failed", extra={"errcode": exc.errcode})
        raise ApiError(503, "unavailable", "微信登录暂时不可用，请稍后再试。") from None
    openid = str(session.get("openid") or "")
    if not openid:
        raise ApiError(503, "unavailable", "微信登录暂时不可用，请稍后再试。")
    user, _ = await User.get_or_create(openid=openid, defaults={"channel": "miniprogram"})
    token, ttl = await new_session(call.app, Caller(user.pk, openid))
    return ok({"token": token, "token_type": "Bearer", "expires_in": ttl, "user_id": user.pk})


async def logout(call: Call) -> web.Response:
    """Ends this token's session."""
    await _end_session(call.request)
    return web.Response(status=204)


async def me(call: Call) -> web.Response:
    """Who am I: roles, my craftsman entry, whether I get menu pushes."""
    grants = await RoleGrant.filter(user_id=call.me.user_id).order_by("id")
    user = await User.get_or_none(pk=call.me.user_id)
    craftsman = await Craftsman.get_or_none(openid=call.me.openid)
    sub = await MenuSubscription.get_or_none(openid=call.me.openid)
    return ok(
        {
            "user_id": call.me.user_id,
            "roles": [
                {"role": g.role.value, "canteen_id": g.canteen_id, "area": g.area} for g in grants
            ],
            "craftsman_id": craftsman.pk if craftsman else None,
            "menu_subscribed": bool(sub and sub.active),
            "elderly_pace": bool(user and user.elderly),
        }
    )


async def put_walking_pace(call: Call) -> web.Response:
    """Walking times at an elderly pace (45 m a minute) or a normal one, like "我走得慢" /
    "正常速度" in the chat."""
    elderly = call.body["elderly_pace"]
    await directory_service.set_walking_pace(call.redis, call.me.openid, elderly)
    return ok({"elderly_pace": elderly})


async def get_menu_subscription(call: Call) -> web.Response:
    """Whether published menus are pushed to me."""
    sub = await MenuSubscription.get_or_none(openid=call.me.openid)
    return ok({"active": bool(sub and sub.active)})


async def put_menu_subscription(call: Call) -> web.Response:
    """Subscribe to (or stop) menu pushes, like "订阅菜单" / "退订菜单" in the chat."""
    active = call.body["active"]
    # Subscribed here, the push is a mini-program subscribe message (the service picks it).
    changed = await canteen_service.set_subscription(call.me.openid, active, canteen_service.MINI)
    return ok({"active": active, "changed": changed})


SCHEMAS: dict[str, Any] = {
    "Session": obj(
        ["token", "token_type", "expires_in", "user_id"],
        {
            "token": {"type": "string"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "description": "seconds"},
            "user_id": {"type": "integer"},
        },
    ),
    "Me": obj(
        ["user_id", "roles", "craftsman_id", "menu_subscribed", "elderly_pace"],
        {
            "user_id": {"type": "integer"},
            "roles": {
                "type": "array",
                "items": obj(
                    ["role", "canteen_id", "area"],
                    {
                        "role": {
                            "type": "string",
                            "enum": [
                                "resident",
                                "craftsman",
                                "canteen_staff",
                                "volunteer",
                                "admin",
                            ],
                        },
                        "canteen_id": {"type": ["integer", "null"]},
                        "area": {"type": ["string", "null"]},
                    },
                ),
            },
            "craftsman_id": {"type": ["integer", "null"]},
            "menu_subscribed": {"type": "boolean"},
            "elderly_pace": {
                "type": "boolean",
                "description": "walking times at 45 m a minute instead of 80",
            },
        },
    ),
    "WalkingPace": obj(["elderly_pace"], {"elderly_pace": {"type": "boolean"}}),
    "Subscription": obj(
        ["active"], {"active": {"type": "boolean"}, "changed": {"type": "boolean"}}
    ),
}


ENDPOINTS = [
    Endpoint(
        "POST",
        "/api/login",
        login,
        "用小程序 wx.login() 的 code 登录",
        "accounts",
        access=Access.PUBLIC,
        body=obj(["code"], {"code": {"type": "string", "minLength": 1, "maxLength": 128}}),
        ok_schema=ref("Session"),
    ),
    Endpoint("POST", "/api/logout", logout, "退出登录", "accounts", ok_status=204),
    Endpoint("GET", "/api/me", me, "我的身份和角色", "accounts", ok_schema=ref("Me")),
    Endpoint(
        "GET",
        "/api/me/menu-subscription",
        get_menu_subscription,
        "是否订阅了菜单推送",
        "canteen",
        ok_schema=ref("Subscription"),
    ),
    Endpoint(
        "PUT",
        "/api/me/menu-subscription",
        put_menu_subscription,
        "订阅或退订菜单推送",
        "canteen",
        body=obj(["active"], {"active": {"type": "boolean"}}),
        ok_schema=ref("Subscription"),
    ),
    Endpoint(
        "PUT",
        "/api/me/walking-pace",
        put_walking_pace,
        "按老人步速或正常步速算步行时间",
        "directory",
        body=obj(["elderly_pace"], {"elderly_pace": {"type": "boolean"}}),
        ok_schema=ref("WalkingPace"),
    ),
]
