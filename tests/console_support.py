"""Logging in to the staff console the way a person does: a code arrives in their WeChat."""

from __future__ import annotations

import re
from typing import Any

from models.canteen import Canteen
from models.users import Role, RoleGrant, User

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CODE = re.compile(r"登录码：(\d{6})")


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, html
    return match.group(1)


def last_code(fake_wechat: Any, openid: str) -> str:
    texts = [t for t in fake_wechat.texts_to(openid) if CODE.search(t)]
    assert texts, f"no code sent to {openid}"
    match = CODE.search(texts[-1])
    assert match
    return match.group(1)


async def make_staff(openid: str, role: Role, canteen: Canteen | None = None) -> User:
    user, _ = await User.get_or_create(openid=openid)
    await RoleGrant.create(user=user, role=role, canteen_id=canteen.pk if canteen else None)
    return user


async def ask_code(client: Any, account: str) -> tuple[str, str]:
    """Step 1 and 2; returns (login csrf, the code page)."""
    page = await (await client.get("/console/login")).text()
    csrf = csrf_of(page)
    resp = await client.post("/console/login/code", data={"csrf": csrf, "account": account})
    return csrf, await resp.text()


async def console_login(client: Any, fake_wechat: Any, user: User) -> str:
    """Logs in; returns the dashboard's CSRF token."""
    csrf, _ = await ask_code(client, str(user.pk))
    code = last_code(fake_wechat, user.openid)
    resp = await client.post(
        "/console/login", data={"csrf": csrf, "account": str(user.pk), "code": code}
    )
    assert resp.status == 200 and resp.url.path == "/console/", await resp.text()
    return csrf_of(await resp.text())


async def forget_sent_codes(client: Any) -> None:
    """As if the minute between two codes had passed."""
    from handlers.keys import redis_key
    from infra import keys

    redis = client.app[redis_key]
    async for key in redis.scan_iter(match=keys.CONSOLE_CODE_SENT + "*"):
        await redis.delete(key)
