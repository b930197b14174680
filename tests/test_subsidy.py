"""Meal subsidies (助餐补贴, issue 17): staff set a recipient's tier (chat, CLI, console), each
meal records the tier it was booked and delivered at, and the monthly per-recipient record for
the subsidy claim counts delivered meals only."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.context import SHANGHAI
from canteen.cli import grant_role
from community.errors import DomainError
from delivery import scheduler, service, subsidy
from handlers.keys import bot_key
from models.canteen import Canteen, CanteenMeal, Meal
from models.delivery import Recipient, Signup, SubsidyTier
from models.users import Role
from tests.chat_support import Chat
from tests.conftest import lunch_and_dinner_canteen

WED = dt.date(2026, 11, 25)
THU = WED + dt.timedelta(days=1)
STAFF, ADMIN, VOL = "o-staff", "o-admin", "o-vol"


def at(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=SHANGHAI)


@pytest.fixture
async def canteen(driven_client: TestClient) -> Any:
    c = await lunch_and_dinner_canteen()
    await grant_role(STAFF, Role.CANTEEN_STAFF, c.pk, None)
    await grant_role(ADMIN, Role.ADMIN, None, None)
    await grant_role(VOL, Role.VOLUNTEER, None, "1-20号楼")
    return c


@pytest.fixture
def say(driven_client: TestClient, canteen: Any) -> Chat:
    return Chat(driven_client.app[bot_key], when=at(WED, "08:00"))


async def sign_up_mum(say: Chat) -> str:
    reply = ""
    for text in ("给我妈订明天午饭", "3号楼2单元401", "1", "没有", "13800000001", "没有", "确认"):
        reply = await say("o-daughter", text)
    assert "报名成功" in reply, reply
    return reply


async def lunch(canteen: Any) -> CanteenMeal:
    return await CanteenMeal.get(canteen=canteen, meal=Meal.LUNCH)


async def deliver(say: Chat, day: dt.date, line: str = "1", outcome: str = "送到") -> None:
    """The day's roster is built at the cutoff and the volunteer reports line `line`."""
    await scheduler.tick(at(day, "09:30"))
    say.when = at(day, "11:40")
    reply = await say(VOL, f"{line} {outcome}")
    assert "已记下" in reply, reply


# ---- pure parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("80岁以上", SubsidyTier.AGE80),
        ("80周岁以上", SubsidyTier.AGE80),
        ("60+", SubsidyTier.AGE60),
        ("六十岁以上", SubsidyTier.AGE60),
        ("低保", SubsidyTier.DIBAO),
        ("五保户", SubsidyTier.TEKUN),
        ("残疾人", SubsidyTier.DISABLED),
        ("无", SubsidyTier.NONE),
        ("70岁", None),
        ("我妈", None),
    ],
)
def test_tier_words(text: str, tier: SubsidyTier | None) -> None:
    assert subsidy.parse_tier(text) is tier


def test_month_bounds_and_amounts() -> None:
    assert subsidy.month_bounds("2026-12") == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    assert subsidy.month_bounds("2026年2月") == (dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    for bad in ("2026-13", "11月", ""):
        with pytest.raises(DomainError, match="2026-11"):
            subsidy.month_bounds(bad)
    assert subsidy.parse_yuan("2.5元") == 250 and subsidy.parse_yuan("4") == 400
    with pytest.raises(DomainError):
        subsidy.parse_yuan("-3")
    # Never more subsidy than the meal costs: 特困 at a 8-yuan meal is the 8 yuan.
    t = subsidy.terms_with(SubsidyTier.TEKUN, 800, {SubsidyTier.TEKUN: 1000})
    assert (t.subsidy_cents, t.pays_cents) == (800, 0)


# ---- staff set a tier in the chat --------------------------------------------------------------


async def test_staff_set_a_tier_by_address_and_the_booked_meal_follows_it(
    say: Chat, canteen: Any
) -> None:
    await sign_up_mum(say)
    [signup] = await Signup.all()
    assert (signup.tier, signup.price_cents, signup.subsidy_cents) == (SubsidyTier.NONE, 1000, 0)
    reply = await say(STAFF, "补贴 3号楼2单元401室 80岁以上")  # 室 or not, the same flat
    assert "已改为80岁以上（原来无补贴）" in reply and "我妈 3号楼2单元401" in reply, reply
    assert "补贴4元，自付6元" in reply and "还没送的1份按新类别算" in reply
    mum = await Recipient.get(label="我妈")
    assert mum.tier == SubsidyTier.AGE80 and mum.tier_set_by == STAFF
    await signup.refresh_from_db()
    assert (signup.tier, signup.price_cents, signup.subsidy_cents) == (SubsidyTier.AGE80, 1000, 400)
    # The resident sees the tier, and cannot change it.
    assert "（助餐补贴：80岁以上）" in await say("o-daughter", "我订了几天")
    assert "我妈（3号楼2单元401）：80岁以上" in await say("o-daughter", "我的补贴")


async def test_a_meal_booked_after_the_tier_is_set_records_it(say: Chat, canteen: Any) -> None:
    mum = await Recipient.create(
        openid="o-son", label="我妈", address="5号楼101", building="5", phone="13800000005"
    )
    change = await subsidy.set_tier(ADMIN, mum, "低保", at(WED, "08:00"))
    assert change.before is SubsidyTier.NONE and change.after is SubsidyTier.DIBAO
    meal = await lunch(canteen)
    await service.book(mum, meal, THU, 2, at(WED, "08:00"))
    [signup] = await Signup.all()
    assert (signup.tier, signup.price_cents, signup.subsidy_cents) == (SubsidyTier.DIBAO, 1000, 700)


async def test_residents_and_volunteers_cannot_set_a_tier(say: Chat, canteen: Any) -> None:
    await sign_up_mum(say)
    for who in ("o-daughter", VOL, "o-stranger"):
        reply = await say(who, "补贴 3号楼2单元401 80岁以上")
        assert "由食堂工作人员核实后设置，自己改不了" in reply, reply
        assert "13800000001" not in reply  # nobody else's details either
    mum = await Recipient.get(label="我妈")
    assert mum.tier is None
    with pytest.raises(DomainError) as refused:
        await subsidy.set_tier("o-daughter", mum, SubsidyTier.AGE80, at(WED, "08:00"))
    assert refused.value.code == "not_staff"
    with pytest.raises(DomainError):
        await subsidy.find_recipients(VOL, "3号楼2单元401")
    with pytest.raises(DomainError) as not_theirs:
        await subsidy.set_subsidy("o-daughter", canteen, "低保", 900, at(WED, "08:00"))
    assert not_theirs.value.code == "not_staff"
    assert (await Canteen.get(pk=canteen.pk)).subsidy_cents is None


async def test_an_unknown_tier_or_recipient_gets_a_clear_answer(say: Chat, canteen: Any) -> None:
    await sign_up_mum(say)
    reply = await say(STAFF, "补贴 3号楼2单元401 70岁")
    assert reply.startswith("“70岁”不是补贴类别") and "80岁以上" in reply, reply
    assert "没有找到“9号楼909”" in await say(STAFF, "补贴 9号楼909 低保")
    assert "请写地址或电话" in await say(STAFF, "补贴 王阿姨 低保")
    assert "补贴 3号楼2单元401 80岁以上" in await say(STAFF, "补贴")  # how, and the amounts
    assert (await Recipient.get(label="我妈")).tier is None


async def test_two_recipients_at_one_address_are_asked_apart(say: Chat, canteen: Any) -> None:
    await sign_up_mum(say)
    dad = await Recipient.create(
        openid="o-daughter", label="我爸", address="3号楼2单元401", building="3",
        phone="13800000002",
    )  # fmt: skip
    reply = await say(STAFF, "补贴 3号楼2单元401 低保")
    assert reply.startswith("找到2位") and f"编号{dad.pk} 我爸" in reply, reply
    assert (await Recipient.get(pk=dad.pk)).tier is None  # nothing set on a guess
    assert "已改为低保" in await say(STAFF, f"补贴 编号{dad.pk} 低保")
    assert "已改为60岁以上" in await say(STAFF, "补贴 3号楼2单元401 我妈 60岁以上")
    assert "已改为80岁以上（原来60岁以上）" in await say(STAFF, "补贴 13800000001 80岁以上")
    tiers = {r.label: r.tier for r in await Recipient.all()}
    assert tiers == {"我妈": SubsidyTier.AGE80, "我爸": SubsidyTier.DIBAO}


# ---- the monthly record ----------------------------------------------------------------------


async def test_the_month_counts_delivered_meals_at_the_tier_they_were_delivered_at(
    say: Chat, canteen: Any
) -> None:
    meal = await lunch(canteen)
    mum = await Recipient.create(
        openid="o-son", label="我妈", address="5号楼101", building="5", phone="13800000005"
    )
    other = await Recipient.create(
        openid="o-li", label="本人", address="6号楼202", building="6", phone="13800000006"
    )
    await subsidy.set_tier(STAFF, mum, "80岁以上", at(WED, "08:00"))
    nov30, dec1 = dt.date(2026, 11, 30), dt.date(2026, 12, 1)
    for day in (THU, THU + dt.timedelta(days=1), nov30, dec1):
        assert (await service.book(mum, meal, day, 1, at(WED, "08:00"))).result.value == "booked"
    await service.book(other, meal, THU, 2, at(WED, "08:00"))
    await deliver(say, THU)  # 11-26: 5号楼 is line 1, 6号楼 (2 portions) line 2
    await say(VOL, "2 送到")
    await deliver(say, THU + dt.timedelta(days=1), outcome="没人")  # 11-27: not delivered
    # 11-28: the tier changes and the canteen raises 低保; delivered meals keep their terms.
    await subsidy.set_tier(STAFF, mum, "低保", at(dt.date(2026, 11, 28), "10:00"))
    await subsidy.set_subsidy(STAFF, canteen, "低保", 500, at(dt.date(2026, 11, 28), "10:00"))
    await deliver(say, nov30)
    await deliver(say, dec1)

    november = await subsidy.month_record(canteen, "2026-11")
    rows = {r.label: r for r in november.rows}
    assert rows["我妈"].meals == 2 and rows["我妈"].tier_names == "80岁以上、低保"
    assert (rows["我妈"].subsidy_cents, rows["我妈"].paid_cents) == (400 + 500, 600 + 500)
    assert (rows["本人"].meals, rows["本人"].subsidy_cents, rows["本人"].paid_cents) == (
        2, 0, 2000,
    )  # fmt: skip
    assert (november.meals, november.subsidy_cents, november.paid_cents) == (4, 900, 3100)
    assert november.by_tier == {
        SubsidyTier.AGE80: (1, 400),
        SubsidyTier.DIBAO: (1, 500),
        SubsidyTier.NONE: (2, 0),
    }
    december = await subsidy.month_record(canteen, "2026-12")
    assert [(r.label, r.meals, r.subsidy_cents) for r in december.rows] == [("我妈", 1, 500)]

    lines = list(csv.reader(io.StringIO(subsidy.record_csv(november).lstrip("\ufeff"))))
    assert lines[0][:3] == ["编号", "送餐对象", "地址"]
    mum_line = ["我妈", "5号楼101", "13800000005", "80岁以上、低保", "2", "11.00", "9.00"]
    assert lines[1][1:] == mum_line
    assert lines[-1] == ["合计", "2人", "", "", "", "4", "31.00", "9.00"]

    say.when = at(dec1, "15:00")
    summary = await say(STAFF, "上月补贴")
    assert "2026年11月助餐补贴" in summary and "送达4餐（2人），个人支付31元，补贴9元" in summary
    assert "低保：1餐，补贴5元" in summary
    assert "送达1餐" in await say(STAFF, "本月补贴")
    assert "送达4餐" not in await say("o-son", "上月补贴")  # residents: their own tiers only


async def test_the_record_neutralises_formulas_in_residents_text(canteen: Any) -> None:
    r = await Recipient.create(
        openid="o-x", label="=HYPERLINK(1)", address="5号楼101", building="5", phone="13800000009"
    )
    meal = await lunch(canteen)
    await service.book(r, meal, THU, 1, at(WED, "08:00"))
    await Signup.all().update(outcome="delivered")
    text = subsidy.record_csv(await subsidy.month_record(canteen, "2026-11"))
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text


# ---- the console page and the REST API ---------------------------------------------------------


async def _delivered_in_november(canteen: Any) -> Recipient:
    """Mum (80岁以上) got two lunches delivered in November, one not answered."""
    mum = await Recipient.create(
        openid="o-son", label="我妈", address="5号楼101", building="5", phone="13800000005"
    )
    await subsidy.set_tier(STAFF, mum, "80岁以上", at(WED, "08:00"))
    meal = await lunch(canteen)
    for day in (THU, THU + dt.timedelta(days=1), THU + dt.timedelta(days=2)):
        await service.book(mum, meal, day, 1, at(WED, "08:00"))
    signups = await Signup.all().order_by("id")
    for s, outcome in zip(signups, ("delivered", "delivered", "no_answer"), strict=True):
        await Signup.filter(pk=s.pk).update(outcome=outcome)
    return mum


async def test_the_console_page_shows_the_month_and_sets_tiers_and_amounts(
    driven_client: TestClient, canteen: Any, fake_wechat: Any
) -> None:
    from tests.console_support import console_login, csrf_of, make_staff

    client = driven_client
    client.app[bot_key].services.clock = lambda: at(dt.date(2026, 12, 2), "09:00")
    mum = await _delivered_in_november(canteen)
    assert (await client.get("/console/subsidy", allow_redirects=False)).status == 302
    staff = await make_staff("o-console-staff", Role.CANTEEN_STAFF, canteen)
    await console_login(client, fake_wechat, staff)
    assert "/console/subsidy" in await (await client.get("/console/")).text()
    page = await (await client.get("/console/subsidy", params={"month": "2026-11"})).text()
    assert "幸福里爱心食堂 · 助餐补贴月度明细" in page and 'value="2026-11"' in page
    assert "1人，送达2餐，个人支付12元，补贴8元" in page
    assert "<td>我妈</td><td>5号楼101</td><td>80岁以上</td><td>2</td>" in page
    assert "/console/subsidy.csv?month=2026-11" in page
    empty = await (await client.get("/console/subsidy")).text()  # this month: December
    assert 'value="2026-12"' in empty and "这个月还没有送达的餐" in empty
    download = await client.get("/console/subsidy.csv", params={"month": "2026-11"})
    assert download.headers["Content-Type"].startswith("text/csv")
    assert (await download.text()).splitlines()[-1] == "合计,1人,,,,2,12.00,8.00"

    found = await (await client.get("/console/subsidy", params={"q": "13800000005"})).text()
    assert f'id="recipient-{mum.pk}"' in found
    csrf = csrf_of(found)
    form = {"csrf": csrf, "recipient_id": str(mum.pk), "tier": "dibao", "month": "2026-11"}
    done = await client.post("/console/subsidy/tier", data=form)
    assert "已设置：我妈 5号楼101 低保" in await done.text()
    assert (await Recipient.get(pk=mum.pk)).tier == SubsidyTier.DIBAO
    bad = await client.post("/console/subsidy/tier", data={**form, "tier": "vip"})
    assert "不是补贴类别" in await bad.text()
    assert (await Recipient.get(pk=mum.pk)).tier == SubsidyTier.DIBAO
    forged = await client.post("/console/subsidy/tier", data={**form, "csrf": "x"})
    assert forged.status == 403

    amounts = {"csrf": csrf, "dibao": "6.5", "age80": "4", "month": "2026-11"}
    saved = await client.post("/console/subsidy/amounts", data=amounts)
    assert "已保存：低保每餐补贴6.5元" in await saved.text()
    assert (await Canteen.get(pk=canteen.pk)).subsidy_cents == {"dibao": 650}
    wrong = await client.post("/console/subsidy/amounts", data={**amounts, "dibao": "abc"})
    assert "补贴金额不对" in await wrong.text()
    # November was delivered at 80岁以上: unchanged by the new tier and amounts.
    again = await (await client.get("/console/subsidy", params={"month": "2026-11"})).text()
    assert "1人，送达2餐，个人支付12元，补贴8元" in again


async def test_the_api_gives_the_record_and_sets_tiers_for_staff_only(
    driven_client: TestClient, canteen: Any
) -> None:
    from handlers.api_v1 import document_key
    from tests.api_support import Api, grant, openid_of

    client = driven_client
    client.app[bot_key].services.clock = lambda: at(dt.date(2026, 12, 2), "09:00")
    api = Api(client, client.app[document_key])
    mum = await _delivered_in_november(canteen)
    await grant("s", Role.CANTEEN_STAFF, canteen)
    staff, son = await api.login("s"), await api.login("son")
    mum.openid = openid_of("son")
    await mum.save()
    url = f"/api/canteens/{canteen.pk}/subsidy"
    record = await api.get(url, staff, month="2026-11")
    assert record.status == 200, record.body
    assert record.body["totals"] == {
        "people": 1, "meals": 2, "paid_cents": 1200, "subsidy_cents": 800,
    }  # fmt: skip
    assert record.body["rows"][0]["tiers"] == ["age80"]
    assert record.body["subsidy_per_meal"]["dibao"] == 700
    assert (await api.get(url, staff, month="2026-13")).status == 400
    assert (await api.get(url, son, month="2026-11")).status == 403
    text = (await api.get(url + ".csv", staff, month="2026-11")).body.decode("utf-8")
    assert text == subsidy.record_csv(await subsidy.month_record(canteen, "2026-11"))

    tier_url = f"/api/delivery/recipients/{mum.pk}/tier"
    refused = await api.call("PUT", tier_url, son, json={"tier": "tekun"})
    assert refused.status == 403 and "自己改不了" in refused.body["error"]["message"]
    assert (await Recipient.get(pk=mum.pk)).tier == SubsidyTier.AGE80
    done = await api.call("PUT", tier_url, staff, json={"tier": "tekun"})
    assert done.status == 200 and done.body["previous_tier"] == "age80"
    assert done.body["tier_name"] == "特困"
    assert (await Recipient.get(pk=mum.pk)).tier == SubsidyTier.TEKUN
    invalid = await api.call("PUT", tier_url, staff, json={"tier": "vip"})
    assert invalid.status == 400
    # The resident sees the tier with their recipients, and cannot write it there either.
    [own] = (await api.get("/api/me/recipients", son)).body["items"]
    assert (own["tier"], own["tier_name"]) == ("tekun", "特困")
    patch = await api.call("PATCH", f"/api/me/recipients/{mum.pk}", son, json={"tier": "none"})
    assert patch.status == 400 and "tier" in patch.body["error"]["fields"]
    assert (await Recipient.get(pk=mum.pk)).tier == SubsidyTier.TEKUN


async def test_a_meal_booked_before_subsidies_counts_at_the_tier_now(canteen: Any) -> None:
    """Sign-ups from before this feature have no recorded terms: the record uses the
    recipient's tier and the canteen's amount now (the only thing known)."""
    mum = await Recipient.create(
        openid="o-son", label="我妈", address="5号楼101", building="5", phone="13800000005"
    )
    await service.book(mum, await lunch(canteen), THU, 2, at(WED, "08:00"))
    await Signup.all().update(tier=None, price_cents=None, subsidy_cents=None, outcome="delivered")
    await Recipient.filter(pk=mum.pk).update(tier=SubsidyTier.AGE60)
    record = await subsidy.month_record(canteen, "2026-11")
    [row] = record.rows
    assert (row.tier_names, row.meals, row.subsidy_cents, row.paid_cents) == (
        "60岁以上", 2, 400, 1600,
    )  # fmt: skip


def test_the_readme_flow_and_the_commands(tmp_path: Any) -> None:
    """As README's Trying it row: a resident signs up, demo-staff sets the tier in the chat;
    then set-tier, set-subsidy and subsidy-report at the command line."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "WARNING"}
    for var in ("DATABASE_URL", "REDIS_URL", "PORT"):
        env.pop(var, None)

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "main.py", *args],
            cwd=root, env=env, input=stdin, text=True, capture_output=True, timeout=120,
        )  # fmt: skip

    assert cli("migrate").returncode == 0
    assert cli("seed-demo").returncode == 0
    answers = ["给我妈订明天午饭", "3号楼2单元401", "1", "没有", "13800000001", "没有", "确认"]
    signed = cli("chat", "--user", "o-daughter", stdin="\n".join([*answers, "/quit"]) + "\n")
    assert "报名成功" in signed.stdout, signed.stdout + signed.stderr
    staff = cli("chat", "--user", "demo-staff", stdin="补贴 3号楼2单元401 80岁以上\n/quit\n")
    assert "已改为80岁以上（原来无补贴）" in staff.stdout, staff.stdout + staff.stderr
    again = cli("set-tier", "13800000001", "低保")
    assert again.returncode == 0 and "80岁以上 -> 低保" in again.stdout, again.stderr
    wrong = cli("set-tier", "3号楼2单元401", "70岁")
    assert wrong.returncode == 2 and "不是补贴类别" in wrong.stderr
    amount = cli("set-subsidy", "低保", "6.5")
    assert amount.returncode == 0 and "低保\t6.5元" in amount.stdout, amount.stderr
    report = cli("subsidy-report", "--month", "2026-11")
    assert report.returncode == 0, report.stderr
    assert report.stdout.lstrip("\ufeff").splitlines()[0].startswith("编号,送餐对象,地址")
    assert cli("subsidy-report", "--month", "2026-13").returncode == 2


async def test_questions_about_subsidies_get_plain_answers(say: Chat, canteen: Any) -> None:
    assert "带身份证或相关证件到食堂" in await say("o-new", "老人吃饭有补贴吗")
    assert "要报名回复“送餐”" in await say("o-new", "补贴怎么申请")
    await sign_up_mum(say)
    mine = await say("o-daughter", "我有补贴吗")
    assert "我妈（3号楼2单元401）：无补贴" in mine and "自己改不了" not in mine
    how = await say(STAFF, "补贴标准是多少")
    assert "本食堂每餐补贴：60岁以上补2元，80岁以上补4元，低保补7元" in how, how
    assert "幸福里爱心食堂 2026年11月助餐补贴" in await say(STAFF, "这个月补贴多少")
