"""WeCom intelligent-bot (智能机器人) callback protocol: signatures, AES, JSON in and out.

The cipher is WeCom's WXBizMsgCrypt scheme, as for WeCom apps, with an empty receive id ("企业
内部智能机器人场景中，ReceiveId为空字符串", developer.work.weixin.qq.com/document/path/101033).
wechatpy's `enterprise.crypto.PrpCrypto` does that cipher and accepts "" as the id; its
`WeChatCrypto` wrappers do not fit (they read and write XML envelopes, and compare signatures
with `!=`), so the JSON envelope and the constant-time signature check are here.

Bodies are JSON: `{"encrypt": ...}` in, `{"encrypt", "msgsignature", "timestamp", "nonce"}` out.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from wechatpy.enterprise.crypto import PrpCrypto

from bot.messages import Channel, Incoming, Kind
from handlers.wechat_protocol import BadRequest, Forbidden, _same, check_timestamp, sign

RECEIVE_ID = ""
__all__ = ["BadRequest", "BotCrypto", "Forbidden", "Message", "check_timestamp", "parse_message"]


class BotCrypto:
    def __init__(self, token: str, aes_key: str) -> None:
        try:
            key = base64.b64decode(aes_key + "=")
        except binascii.Error:
            key = b""
        if len(key) != 32:
            raise ValueError("WECOM_BOT_AES_KEY must be the 43-character EncodingAESKey")
        self.token = token
        self._key = key

    def _check(self, signature: str | None, timestamp: str, nonce: str | None, data: str) -> None:
        if nonce is None or not _same(sign(self.token, timestamp, nonce, data), signature):
            raise Forbidden("bad msg_signature")

    def _decrypt(self, data: str) -> str:
        try:
            text = PrpCrypto(self._key).decrypt(data, RECEIVE_ID)
        except Exception:
            # wechatpy raises InvalidCorpIdException for another receive id, and struct or
            # binascii errors for garbage: all mean "not for us / not ours".
            raise BadRequest("cannot decrypt") from None
        return text if isinstance(text, str) else text.decode("utf-8")

    def verify_url(
        self, signature: str | None, timestamp: str, nonce: str | None, echo: str
    ) -> str:
        """GET: check msg_signature over (token, timestamp, nonce, echostr); the plain echostr."""
        self._check(signature, timestamp, nonce, echo)
        return self._decrypt(echo)

    def open(self, body: bytes, signature: str | None, timestamp: str, nonce: str | None) -> dict:
        """POST body → the decrypted message as a dict; Forbidden or BadRequest."""
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("body is not JSON") from None
        encrypt = envelope.get("encrypt") if isinstance(envelope, dict) else None
        if not isinstance(encrypt, str) or not encrypt:
            raise BadRequest('body without "encrypt"')
        self._check(signature, timestamp, nonce, encrypt)
        try:
            message = json.loads(self._decrypt(encrypt))
        except ValueError:
            raise BadRequest("decrypted body is not JSON") from None
        if not isinstance(message, dict):
            raise BadRequest("decrypted body is not an object")
        return message

    def seal(self, payload: dict[str, Any], nonce: str, timestamp: str | None = None) -> dict:
        """A passive reply: the payload encrypted, signed, in WeCom's JSON envelope."""
        timestamp = timestamp or str(int(time.time()))
        plain = json.dumps(payload, ensure_ascii=False)
        encrypt = PrpCrypto(self._key).encrypt(plain, RECEIVE_ID)
        encrypt = encrypt.decode("ascii") if isinstance(encrypt, bytes) else encrypt
        return {
            "encrypt": encrypt,
            "msgsignature": sign(self.token, timestamp, nonce, encrypt),
            "timestamp": int(timestamp),
            "nonce": nonce,
        }

    def encrypt(self, plain: str) -> str:
        """For the fake server and tests: what WeCom puts in `encrypt` or `echostr`."""
        out = PrpCrypto(self._key).encrypt(plain, RECEIVE_ID)
        return out.decode("ascii") if isinstance(out, bytes) else out


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


def _str(data: dict, *path: str) -> str:
    value: Any = data
    for p in path:
        if not isinstance(value, dict):
            return ""
        value = value.get(p)
    return value if isinstance(value, str) else ""


def strip_mention(text: str) -> tuple[str, bool]:
    """'@RobotA 明天午饭' → ('明天午饭', True). WeCom keeps the @name in the content; a member
    may also write it at the end or twice. One pass over whitespace-separated words."""
    words = text.replace("\u2005", " ").split(" ")  # WeCom puts U+2005 after a mention
    kept = [w for w in words if not w.startswith("@")]
    return " ".join(w for w in kept if w).strip(), len(kept) != len(words)


def parse_message(data: dict) -> Message:
    """The decrypted callback JSON as a Message; BadRequest when required fields are missing."""
    msgtype = _str(data, "msgtype")
    user = _str(data, "from", "userid")
    if not msgtype or (msgtype != "stream" and not user):
        raise BadRequest("message without msgtype or from.userid")
    chattype = _str(data, "chattype")
    chatid = _str(data, "chatid") if chattype == "group" else ""
    text = ""
    if msgtype == "text":
        text = _str(data, "text", "content")
    elif msgtype == "voice":
        text = _str(data, "voice", "content")  # WeCom sends voice already as text
    elif msgtype == "mixed":
        items = (
            data.get("mixed", {}).get("msg_item", []) if isinstance(data.get("mixed"), dict) else []
        )
        parts = [_str(i, "text", "content") for i in items if isinstance(i, dict)][:20]
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
