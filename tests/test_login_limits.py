"""Console login codes and API logins under abuse (issue 11, item 8): an atomic tries counter,
codes bound to the browser that asked (nobody can burn a staff member's code), caps on codes
per account and per client address, X-Forwarded-For only from a trusted proxy, a Secure cookie
behind an HTTPS proxy, and a Content-Security-Policy."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import aiohttp
import pytest

from bot.context import SHANGHAI
from canteen.cli import add_canteen
from handlers.keys import bot_key
from main import create_app
from models.users import Role
from tests.conftest import reset_state
from tests.console_support import ask_code, csrf_of, last_code, make_staff


@pytest.fixture
async def staff(client: Any) -> Any:
    client.app[bot_key].services.clock = lambda: dt.datetime(2026, 11, 25, 15, 0, tzinfo=SHANGHAI)
    canteen = await add_canteen("幸福里爱心食堂", "3号楼底商", 31.23, 121.47, [], ["lunch="])
    return await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)


async def _client(aiohttp_client: Any, make_settings: Any, **settings: Any) -> Any:
    c = await aiohttp_client(create_app(make_settings(**settings)))
    await reset_state(c)
    return c


def _guess(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


async def test_a_burst_of_wrong_guesses_cannot_outrun_the_tries_counter(
    client: Any, staff: Any, fake_wechat: Any
) -> None:
    csrf, _ = await ask_code(client, str(staff.pk))
    code = last_code(fake_wechat, "o-staff")

    async def post(guess: str) -> int:
        data = {"csrf": csrf, "account": str(staff.pk), "code": guess}
        return (await client.post("/console/login", data=data, allow_redirects=False)).status

    statuses = await asyncio.gather(*(post(_guess(code)) for _ in range(11)))
    assert set(statuses) == {400}
    # Eleven wrong guesses at once used the code up, as five one after another do.
    assert await post(code) == 400


async def test_nobody_else_can_burn_or_use_a_staff_members_code(
    client: Any, staff: Any, fake_wechat: Any
) -> None:
    csrf, _ = await ask_code(client, str(staff.pk))
    code = last_code(fake_wechat, "o-staff")
    # Someone else, in another browser, knows the staff number and guesses.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        page = await (await other.get(client.make_url("/console/login"))).text()
        theirs = csrf_of(page)
        for guess in [_guess(code)] * 6 + [code]:
            data = {"csrf": theirs, "account": str(staff.pk), "code": guess}
            resp = await other.post(
                client.make_url("/console/login"), data=data, allow_redirects=False
            )
            assert resp.status == 400  # even the right code: it was not sent to this browser
    resp = await client.post(
        "/console/login", data={"csrf": csrf, "account": str(staff.pk), "code": code}
    )
    assert resp.status == 200 and resp.url.path == "/console/"


async def test_codes_for_one_account_are_capped_and_so_are_requests_per_address(
    client: Any, staff: Any, fake_wechat: Any
) -> None:
    statuses = []
    for _ in range(8):
        client.session.cookie_jar.clear()  # a fresh browser each time
        page = await (await client.get("/console/login")).text()
        resp = await client.post(
            "/console/login/code", data={"csrf": csrf_of(page), "account": str(staff.pk)}
        )
        statuses.append(resp.status)
    assert len(fake_wechat.texts_to("o-staff")) == 6  # the hourly cap per account
    assert statuses[-1] == 429 and "操作太频繁" in await resp.text()
    for n in range(3):  # other accounts, same address: the address's cap
        page = await (await client.get("/console/login")).text()
        resp = await client.post(
            "/console/login/code", data={"csrf": csrf_of(page), "account": f"nobody-{n}"}
        )
    assert resp.status == 429 and resp.headers["Retry-After"].isdigit()


async def test_api_login_limit_believes_x_forwarded_for_only_from_a_trusted_proxy(
    aiohttp_client: Any, make_settings: Any
) -> None:
    async def three_logins(client: Any, addresses: list[str]) -> list[int]:
        out = []
        for address in addresses:
            resp = await client.post(
                "/api/login", json={"code": "x"}, headers={"X-Forwarded-For": address}
            )
            out.append(resp.status)
        return out

    direct = await _client(aiohttp_client, make_settings, api_logins_per_minute=2)
    # Not behind a trusted proxy: a made-up header does not make one client many.
    assert (await three_logins(direct, ["1.1.1.1", "2.2.2.2", "3.3.3.3"]))[-1] == 429

    proxied = await _client(
        aiohttp_client, make_settings, api_logins_per_minute=2, trusted_proxies="127.0.0.1"
    )
    # Behind the proxy every resident has a bucket of their own, not one shared by all...
    assert 429 not in await three_logins(proxied, ["1.1.1.1", "2.2.2.2", "3.3.3.3"])
    # ...and one client is still limited (the right-most untrusted hop counts, so a forged
    # left-most entry does not help).
    forged = ["9.9.9.1, 4.4.4.4", "9.9.9.2, 4.4.4.4", "9.9.9.3, 4.4.4.4"]
    assert (await three_logins(proxied, forged))[-1] == 429


async def test_console_cookie_is_secure_behind_an_https_proxy_and_pages_carry_a_csp(
    aiohttp_client: Any, make_settings: Any
) -> None:
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "5.5.5.5"}
    direct = await _client(aiohttp_client, make_settings)
    resp = await direct.get("/console/login", headers=https)
    assert "Secure" not in resp.headers["Set-Cookie"]  # anyone can send that header
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    proxied = await _client(aiohttp_client, make_settings, trusted_proxies="127.0.0.1/32")
    resp = await proxied.get("/console/login", headers=https)
    assert "Secure" in resp.headers["Set-Cookie"]
    resp = await proxied.get("/console/login")  # the proxy says plain HTTP
    assert "Secure" not in resp.headers["Set-Cookie"]


async def test_someone_else_using_up_the_codes_does_not_lock_the_staff_member_out(
    aiohttp_client: Any, make_settings: Any, fake_wechat: Any
) -> None:
    client = await _client(aiohttp_client, make_settings, trusted_proxies="127.0.0.1")
    canteen = await add_canteen("幸福里爱心食堂", "3号楼底商", 31.23, 121.47, [], ["lunch="])
    staff = await make_staff("o-staff", Role.CANTEEN_STAFF, canteen)

    async def ask(address: str) -> int:
        client.session.cookie_jar.clear()  # a fresh browser each time
        hop = {"X-Forwarded-For": address}
        page = await (await client.get("/console/login", headers=hop)).text()
        data = {"csrf": csrf_of(page), "account": str(staff.pk)}
        return (await client.post("/console/login/code", data=data, headers=hop)).status

    attacker = [await ask("6.6.6.6") for _ in range(7)]
    assert attacker[-1] == 429 and len(fake_wechat.texts_to("o-staff")) == 6
    assert await ask("7.7.7.7") == 200  # the staff member, from their own address
    assert len(fake_wechat.texts_to("o-staff")) == 7
