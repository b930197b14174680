"""WeCom intelligent-bot (智能机器人) callback protocol: what a callback says, normalised.

The cipher and the JSON envelope (`{"encrypt": ...}` in, `{"encrypt", "msgsignature",
"timestamp", "nonce"}` out) are in wechat_api/wecom_crypto.py; here their errors become the
transport's Forbidden (403) and BadRequest (400).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from bot.messages import Channel, Incoming, Kind
from handlers.wechat_protocol import BadRequest, Forbidden, check_timestamp
from wechat_api.wecom_crypto import BadEnvelope, BadSignature, BotCrypto

__all__ = ["BadRequest", "BotCrypto", "Forbidden", "Message", "check_timestamp", "parse_message"]


def verify_url(crypto: BotCrypto, q: Any) -> str:
    """GET /wecom/bot: the plain echostr; Forbidden or BadRequest."""
    try:
        return crypto.verify_url(
            q.get("msg_signature"), q["timestamp"], q.get("nonce"), q.get("echostr", "")
        )
    except BadSignature as exc:
        raise Forbidden(str(exc)) from None
    except BadEnvelope as exc:
        raise BadRequest(str(exc)) from None


def open_body(crypto: BotCrypto, body: bytes, q: Any) -> dict[str, Any]:
    """POST /wecom/bot: the decrypted message; Forbidden or BadRequest."""
    try:
        return crypto.open(body, q.get("msg_signature"), q["timestamp"], q.get("nonce"))
    except BadSignature as exc:
        raise Forbidden(str(exc)) from None
    except BadEnvelope as exc:
        raise BadRequest(str(exc)) from None


def new_nonce() -> str:
    return os.urandom(8).hex()


# ---- messages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One callback, normalised: a user message, a stream refresh, or an event."""

    msgid: str
    msgtype: str  # text, mixed, voice, image, file, stream, event
    user: str  # the member's WeCom userid
    chatid: str  # the group ("" in a single chat)
    text: str = ""
    mentioned: bool = False
    response_url: str = ""
    stream_id: str = ""  # for msgtype=stream: the stream being refreshed
    event: str = ""
    aibotid: str = ""

    @property
    def in_group(self) -> bool:
        return bool(self.chatid)


def _str(data: dict[str, Any], *path: str) -> str:
    value: Any = data
    for p in path:
        if not isinstance(value, dict):
            return ""
        value = value.get(p)
    return value if isinstance(value, str) else ""


_SPACE = {" ", "\u2005", "\u3000", "\n", "\t", "\r"}


def strip_mention(text: str) -> tuple[str, bool]:
    """'@RobotA 明天午饭' → ('明天午饭', True). WeCom keeps the @name in the content (followed
    by U+2005); a member may also put it at the end, or on a line of its own above a pasted
    接龙. One pass: an '@' at the start of a word drops that word; line breaks stay."""
    out: list[str] = []
    i, n, found = 0, len(text), False
    while i < n:
        if text[i] == "@" and (i == 0 or text[i - 1] in _SPACE):
            found = True
            while i < n and text[i] not in _SPACE:
                i += 1
            while i < n and text[i] in (" ", "\u2005"):  # the space after the mention
                i += 1
            continue
        out.append(text[i])
        i += 1
    return "".join(out).strip(), found


def parse_message(data: dict[str, Any]) -> Message:
    """The decrypted callback JSON as a Message; BadRequest when required fields are missing."""
    msgtype = _str(data, "msgtype")
    user = _str(data, "from", "userid")
    if not msgtype or (msgtype != "stream" and not user):
        raise BadRequest("message without msgtype or from.userid")
    if msgtype not in ("stream", "event") and not _str(data, "msgid"):
        raise BadRequest("message without msgid")  # it could not be deduplicated
    chattype = _str(data, "chattype")
    chatid = _str(data, "chatid") if chattype == "group" else ""
    text = ""
    if msgtype == "text":
        text = _str(data, "text", "content")
    elif msgtype == "voice":
        text = _str(data, "voice", "content")  # WeCom sends voice already as text
    elif msgtype == "mixed":
        mixed = data.get("mixed")
        items = mixed.get("msg_item") if isinstance(mixed, dict) else None
        items = items if isinstance(items, list) else []
        parts = [_str(i, "text", "content") for i in items[:20] if isinstance(i, dict)]
        text = " ".join(p for p in parts if p)
    mentioned = False
    if text:
        text, mentioned = strip_mention(text[:4000])
    return Message(
        msgid=_str(data, "msgid"),
        msgtype=msgtype,
        user=user,
        chatid=chatid,
        text=text,
        mentioned=mentioned,
        response_url=_str(data, "response_url"),
        stream_id=_str(data, "stream", "id"),
        event=_str(data, "event", "eventtype"),
        aibotid=_str(data, "aibotid"),
    )


USER_PREFIX = "wecom:"


def member_id(userid: str) -> str:
    """The person as the bot knows them (User.openid): WeCom userids are namespaced so they
    never meet an Official Account openid."""
    return USER_PREFIX + userid


def to_incoming(m: Message) -> Incoming:
    kind = Kind.TEXT if m.msgtype in ("text", "voice", "mixed") else Kind.MEDIA
    return Incoming(
        user=member_id(m.user),
        kind=kind,
        channel=Channel.WECOM,
        text=m.text,
        voice=m.msgtype == "voice",
        msg_id=m.msgid,
        chat=m.chatid,
        mentioned=m.mentioned,
    )


def stream_reply(stream_id: str, content: str, finish: bool) -> dict[str, Any]:
    return {"msgtype": "stream", "stream": {"id": stream_id, "finish": finish, "content": content}}
