"""What the bot answers for what the NLU understood: emergencies, places, unsure readings."""

from __future__ import annotations

from typing import Any


async def test_an_emergency_is_answered_with_the_numbers_to_call(say: Any) -> None:
    reply = await say("o-nlu-1", "我妈摔倒了起不来")
    assert "120" in reply
    assert "准备中" not in reply


async def test_a_place_question_is_answered_politely(say: Any) -> None:
    reply = await say("o-nlu-2", "附近有药店吗")
    assert reply and "抱歉，我没太明白" not in reply


async def test_unsure_asks_one_numbered_question_and_acts_on_the_answer(say: Any) -> None:
    """'张师傅几点关门' could be a craftsman or a service point: the bot asks which, and the
    answer '1' runs the first message as that reading (not as the text '1')."""
    asked = await say("o-nlu-3", "张师傅几点关门")
    assert "1. 找" in asked and "2. " in asked and "回复 1 或 2" in asked
    assert len(asked.splitlines()) == 4
    answer = await say("o-nlu-3", "1")
    assert answer and answer != asked and "回复 1 或 2" not in answer
    assert "抱歉，我没太明白" not in answer
    # the question is answered once: another "1" is not taken as a choice again
    again = await say("o-nlu-3", "1")
    assert "回复 1 或 2" not in again


async def test_a_sure_parse_is_acted_on_without_a_question(say: Any) -> None:
    reply = await say("o-nlu-4", "今天吃什么")
    assert "回复 1 或 2" not in reply


async def test_parse_endpoint_answers_as_its_document_says(client: Any) -> None:
    """/api/nlu/parse keeps its shape and documents what is new (place, confident, ...)."""
    import jsonschema

    doc = await (await client.get("/api/openapi.json")).json()
    schema = doc["paths"]["/api/nlu/parse"]["post"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]
    for text in ("附近有药店吗", "张师傅几点关门", "冰箱不制冷了"):
        resp = await client.post("/api/nlu/parse", json={"text": text})
        assert resp.status == 200
        body = await resp.json()
        jsonschema.validate(body, schema)
        for key in ("intent", "category", "confidence", "slots", "clarify"):
            assert key in body
    assert body["category"] == "appliance_repair" and body["confident"] is True
