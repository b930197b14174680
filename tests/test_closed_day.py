"""A closed day (停餐 12月3日): the canteen staff say it once; every booking of that day is
cancelled and each booking account told; nobody can book it afterwards (issue 17)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from bot.context import SHANGHAI
from canteen.cli import grant_role
from community.errors import DomainError
from delivery import service
from models.canteen import CanteenMeal, Meal
from models.delivery import MealSlot, Recipient, Signup, SignupStatus
from models.push import OutboxMessage
from models.users import Role
from tests.conftest import lunch_and_dinner_canteen
from tests.test_grid import _chat_on

NOW = dt.datetime(2026, 11, 25, 9, 5, tzinfo=SHANGHAI)  # _chat_on's clock
DEC3 = dt.date(2026, 12, 3)


@pytest.fixture
async def setup(driven_client: Any) -> Any:
    canteen = await lunch_and_dinner_canteen()
    await grant_role("o-staff", Role.CANTEEN_STAFF, canteen.pk, None)
    return canteen


async def _book(openid: str, label: str, meal: Meal, day: dt.date = DEC3, count: int = 1) -> None:
    recipient = await Recipient.create(
        openid=openid, label=label, address="3号楼101", building="3", phone="13800001111"
    )
    offered = await CanteenMeal.get(meal=meal)
    booking = await service.book(recipient, offered, day, count, NOW)
    assert booking.result is service.Result.BOOKED


async def test_staff_close_a_day_everyone_booked_is_told_and_nobody_can_book_it(
    setup: Any, driven_client: Any
) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    await _book("o-b", "妈妈", Meal.DINNER, count=2)
    await _book("o-c", "本人", Meal.LUNCH, day=DEC3 + dt.timedelta(days=1))  # another day

    asked = await chat("o-staff", "停餐 12月3日")
    assert "要停餐：12月3日（周四）午餐、晚餐。会取消2份报名，并通知2位居民。" in asked
    assert "回复“确认”停餐" in asked and "志愿者" not in asked  # no roster went out yet
    said = await chat("o-staff", "确认")
    assert "12月3日午餐、晚餐" in said and "取消了2份报名，已通知2位居民" in said
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 1  # o-c's, the 4th
    told = {m.target: m.payload["text"] for m in await OutboxMessage.all()}
    assert set(told) == {"o-a", "o-b"}
    assert "12月3日午餐停餐" in told["o-a"] and "给妈妈订的" in told["o-b"]
    assert {s.booked for s in await MealSlot.filter(date=DEC3)} == {0}

    # Nobody can book the closed day; the day after is untouched.
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    late = await Recipient.create(
        openid="o-d", label="本人", address="3号楼102", building="3", phone="13800003333"
    )
    refused = await service.book(late, lunch, DEC3, 1, NOW)
    assert refused.result is service.Result.DAY_CLOSED and "停餐" in refused.reason
    assert "名额已满" not in refused.reason
    assert (await service.book(late, lunch, DEC3 + dt.timedelta(days=2), 1, NOW)).result is (
        service.Result.BOOKED
    )
    # Saying it again tells nobody twice.
    assert "还没有人报名" in await chat("o-staff", "停餐 12月3日")
    assert await OutboxMessage.all().count() == 2


async def test_closing_one_meal_keeps_the_other(setup: Any, driven_client: Any) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    await _book("o-b", "本人", Meal.DINNER)
    assert "会取消1份报名" in await chat("o-staff", "12月3日午餐停餐")
    said = await chat("o-staff", "确认")
    assert "12月3日午餐" in said and "晚餐" not in said
    kept = await Signup.filter(status=SignupStatus.BOOKED).prefetch_related("recipient")
    assert [s.recipient.openid for s in kept] == ["o-b"]


async def test_only_staff_close_and_never_a_past_day(setup: Any, driven_client: Any) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    # A resident saying it cancels at most their own booking (o-z has none), never the canteen.
    assert "已停餐" not in await chat("o-z", "停餐 12月3日")
    with pytest.raises(DomainError) as refused:
        await service.close_day("o-a", setup, DEC3, NOW)
    assert refused.value.code == "not_staff"
    with pytest.raises(DomainError) as past:
        await service.close_day("o-staff", setup, dt.date(2026, 11, 24), NOW)
    assert past.value.code == "past"
    assert "哪天停餐" in await chat("o-staff", "停餐 过几天")
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 1
    assert await OutboxMessage.all().count() == 0


async def test_sold_out_stops_new_sign_ups_and_keeps_the_booked(
    setup: Any, driven_client: Any
) -> None:
    chat = _chat_on(driven_client)  # 09:05, before lunch's 09:30 cutoff
    today = NOW.date()
    await _book("o-a", "本人", Meal.LUNCH, day=today, count=2)
    said = await chat("o-staff", "售罄 午餐")
    assert "11月25日" in said and "午餐不再接受报名" in said and "已报名的2份照常送" in said
    lunch = await CanteenMeal.get(meal=Meal.LUNCH)
    late = await Recipient.create(
        openid="o-d", label="本人", address="3号楼102", building="3", phone="13800003333"
    )
    refused = await service.book(late, lunch, today, 1, NOW)
    assert refused.result is service.Result.SOLD_OUT and "午餐已经售罄" in refused.reason
    dinner = await CanteenMeal.get(meal=Meal.DINNER)
    assert (await service.book(late, dinner, today, 1, NOW)).result is service.Result.BOOKED
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 2  # o-a's still goes
    assert "晚餐不再接受报名" in await chat("o-staff", "明天晚餐售罄")
    tomorrow = await MealSlot.get(date=today + dt.timedelta(days=1), meal=Meal.DINNER)
    assert tomorrow.capacity == 0
    assert "哪一餐" in await chat("o-staff", "售罄")
    assert "售罄" not in await chat("o-a", "午餐售罄了")  # residents cannot
    assert (await MealSlot.get(date=today, meal=Meal.DINNER)).capacity == 30


# ---- what a resident is told when booking a closed day or a sold-out meal ----------------------

SIGN_UP = ("给我自己订{day}午饭", "7号楼101", "1", "少盐", "13800000002", "没有", "确认")


async def _sign_up_by_chat(chat: Any, who: str, day: str) -> str:
    reply = ""
    for text in SIGN_UP:
        reply = await chat(who, text.format(day=day))
    return reply


async def test_a_closed_day_is_said_closed_not_full_in_the_chat(
    setup: Any, driven_client: Any
) -> None:
    chat = _chat_on(driven_client)
    assert "已停餐" in await chat("o-staff", "12月3日午餐停餐")
    said = await _sign_up_by_chat(chat, "o-r", "12月3日")
    assert "12月3日（周四）午餐食堂停餐，不送餐，没法报名" in said, said
    assert "名额已满" not in said and "报名成功" not in said
    # That day's dinner still delivers: offered, with the words to book it.
    assert "当天晚餐还有名额，要报就回复“送餐 12月3日晚餐1份”" in said
    assert await Signup.filter(status=SignupStatus.BOOKED).count() == 0


async def test_a_sold_out_meal_is_said_sold_out_in_the_chat(setup: Any, driven_client: Any) -> None:
    chat = _chat_on(driven_client)  # the 25th, 09:05
    tomorrow = NOW.date() + dt.timedelta(days=1)
    await _book("o-a", "本人", Meal.LUNCH, day=tomorrow)
    await _book("o-a2", "本人", Meal.DINNER, day=tomorrow)
    await chat("o-staff", "明天午餐售罄")
    await chat("o-staff", "明天晚餐售罄")
    said = await _sign_up_by_chat(chat, "o-r", "明天")
    assert "明天 11月26日（周四）午餐已经售罄了，不能再报名" in said, said
    assert "名额已满" not in said and "停餐" not in said
    # Neither meal that day: the next day lunch is still open is offered.
    assert "后天 11月27日（周五）午餐还有名额" in said


async def test_the_api_gives_the_chats_words_and_codes(setup: Any, driven_client: Any) -> None:
    from handlers.api_v1 import document_key
    from tests.api_support import Api

    chat = _chat_on(driven_client)
    api = Api(driven_client, driven_client.app[document_key])
    token = await api.login("r")
    body = {"label": "本人", "address": "7号楼102", "phone": "13800000003"}
    rid = (await api.call("POST", "/api/me/recipients", token, json=body)).body["id"]
    tomorrow = NOW.date() + dt.timedelta(days=1)
    await _book("o-a", "本人", Meal.LUNCH, day=tomorrow)
    await chat("o-staff", "明天午餐售罄")
    await chat("o-staff", "12月3日午餐停餐")

    sign_up = {"recipient_id": rid, "meal": "lunch", "dates": ["2026-11-26", "2026-12-03"]}
    answer = await api.call("POST", "/api/me/signups", token, json=sign_up)
    assert answer.status == 200, answer.body
    sold, closed = answer.body["results"]
    assert (sold["result"], sold["result_name"]) == ("sold_out", "已售罄")
    assert (closed["result"], closed["result_name"]) == ("day_closed", "停餐")
    # The same words as the chat says, for the same day and meal.
    said = await _sign_up_by_chat(chat, "o-r", "12月3日")
    assert closed["message"] in said.splitlines()
    assert sold["message"].startswith("明天 11月26日（周四）午餐已经售罄了")
    assert answer.body["next_open_day"] == "2026-12-04"


# ---- 停餐 asks first when it would cancel bookings (issue 17: a misheard date) ----------------


async def _booked_openids() -> list[str]:
    kept = await Signup.filter(status=SignupStatus.BOOKED).prefetch_related("recipient")
    return sorted(s.recipient.openid for s in kept)


async def test_the_preview_counts_what_closing_would_do_and_changes_nothing(
    setup: Any, driven_client: Any
) -> None:
    await _book("o-a", "本人", Meal.LUNCH)
    await _book("o-a", "妈妈", Meal.LUNCH, count=2)  # one account, two recipients: told once
    await _book("o-b", "本人", Meal.DINNER)
    await _book("o-c", "本人", Meal.LUNCH, day=DEC3 + dt.timedelta(days=1))  # another day
    whole = await service.preview_close("o-staff", setup, DEC3, NOW)
    assert (whole.bookings, whole.residents, whole.volunteers) == (3, 2, 0)
    assert whole.meals == [Meal.LUNCH, Meal.DINNER]
    lunch = await service.preview_close("o-staff", setup, DEC3, NOW, Meal.LUNCH)
    assert (lunch.bookings, lunch.residents) == (2, 1)
    assert await OutboxMessage.all().count() == 0 and len(await _booked_openids()) == 4
    assert 0 not in {s.capacity for s in await MealSlot.filter(date=DEC3)}  # still open
    # The same rules as closing: staff only, never a past day.
    with pytest.raises(DomainError) as refused:
        await service.preview_close("o-a", setup, DEC3, NOW)
    assert refused.value.code == "not_staff"
    with pytest.raises(DomainError) as past:
        await service.preview_close("o-staff", setup, dt.date(2026, 11, 24), NOW)
    assert past.value.code == "past"
    # And the same numbers when it is done.
    closed = await service.close_day("o-staff", setup, DEC3, NOW)
    assert (closed.cancelled, len(closed.told)) == (whole.bookings, whole.residents)


@pytest.mark.parametrize("no", ["算了", "不停了", "取消"])
async def test_saying_no_keeps_every_booking_and_tells_nobody(
    setup: Any, driven_client: Any, no: str
) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    await _book("o-b", "本人", Meal.DINNER)
    assert "会取消2份报名" in await chat("o-staff", "停餐 12月3日")
    kept = await chat("o-staff", no)
    assert "不停餐了" in kept and "报名都还在" in kept and "已停餐" not in kept
    assert await _booked_openids() == ["o-a", "o-b"]
    assert await OutboxMessage.all().count() == 0
    assert 0 not in {s.capacity for s in await MealSlot.filter(date=DEC3)}  # still open
    # The question is gone: a later 确认 closes nothing.
    assert "已停餐" not in await chat("o-staff", "确认")
    assert await _booked_openids() == ["o-a", "o-b"]


async def test_anything_else_asks_again_in_the_same_words(setup: Any, driven_client: Any) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    asked = await chat("o-staff", "明天午餐停餐")  # the 26th: nobody booked, closed at once
    assert "已停餐：11月26日午餐" in asked and "还没有人报名" in asked
    asked = await chat("o-staff", "12月3日午餐停餐")
    again = await chat("o-staff", "那个啥")
    assert "还没停餐" in again and asked in again
    assert await _booked_openids() == ["o-a"]
    assert "取消了1份报名，已通知1位居民" in await chat("o-staff", "好的 确认")
    assert await _booked_openids() == []


async def test_a_booking_made_before_the_confirmation_is_cancelled_too(
    setup: Any, driven_client: Any
) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    assert "会取消1份报名，并通知1位居民" in await chat("o-staff", "停餐 12月3日")
    await _book("o-b", "本人", Meal.DINNER)  # booked while the staff read the question
    said = await chat("o-staff", "确认")
    assert "取消了2份报名，已通知2位居民" in said  # the final numbers
    assert await _booked_openids() == []
    assert sorted(m.target for m in await OutboxMessage.all()) == ["o-a", "o-b"]


async def test_a_staff_request_in_the_middle_is_answered_and_the_question_waits(
    setup: Any, driven_client: Any
) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    await chat("o-staff", "停餐 12月3日")
    aside = await chat("o-staff", "今日送餐")
    assert "午餐" in aside and "会取消" not in aside.splitlines()[0]
    assert "回复“确认”停餐" in aside  # asked again after the answer
    assert await _booked_openids() == ["o-a"]
    assert "已停餐" in await chat("o-staff", "确认")
    assert await _booked_openids() == []


async def test_a_resident_cannot_close_the_day_even_saying_yes(
    setup: Any, driven_client: Any
) -> None:
    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    for said in ("停餐 12月3日", "确认"):  # o-z has no booking of their own to cancel
        answer = await chat("o-z", said)
        assert "要停餐" not in answer and "已停餐" not in answer
    assert await _booked_openids() == ["o-a"]
    assert await OutboxMessage.all().count() == 0
    assert 0 not in {s.capacity for s in await MealSlot.filter(date=DEC3)}


async def test_a_confirmation_long_after_the_question_is_asked_again_with_todays_numbers(
    setup: Any, driven_client: Any
) -> None:
    from handlers.keys import bot_key

    chat = _chat_on(driven_client)
    await _book("o-a", "本人", Meal.LUNCH)
    assert "会取消1份报名" in await chat("o-staff", "停餐 12月3日")
    await _book("o-b", "本人", Meal.DINNER)
    later = NOW + dt.timedelta(hours=5)  # the form is still kept; the question is stale
    driven_client.app[bot_key].services.clock = lambda: later
    again = await chat("o-staff", "确认")
    assert "再确认一次" in again and "会取消2份报名，并通知2位居民" in again
    assert "已停餐" not in again and len(await _booked_openids()) == 2
    assert "取消了2份报名" in await chat("o-staff", "确认")
    assert await _booked_openids() == []
