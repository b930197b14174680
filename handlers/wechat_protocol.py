"""WeChat Official Account callback protocol: signatures, AES safe mode, XML in and out.

Built on wechatpy (message parsing, AES cipher, reply rendering). Two things are done here on
purpose rather than through wechatpy's helpers: signatures are compared in constant time
(wechatpy uses `!=`), and XML is screened for markup declarations before wechatpy's xmltodict
sees it, so DTDs and entity tricks never reach a parser.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from xml.etree import ElementTree as FastET  # noqa: S405  (screened first: see _plain_text)

from defusedxml import ElementTree as SafeET
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.fields import DateTimeField, FloatField, IntegerField, StringField
from wechatpy.messages import BaseMessage, TextMessage

from bot.messages import Image, Incoming, Kind, Location
from infra.text import printable


class Forbidden(Exception):
    """Bad or stale signature: answer 403 with no content."""


class BadRequest(Exception):
    """Malformed, hostile or undecryptable body: answer 400."""


def sign(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the lexically sorted parts, concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def check_timestamp(timestamp: str | None, skew: int, now: float | None = None) -> None:
    # isdigit() alone accepts "²" and other digits int() refuses: that was a 500.
    if timestamp is None or not (timestamp.isascii() and timestamp.isdigit()):
        raise Forbidden("missing timestamp")
    if skew and abs((now or time.time()) - int(timestamp)) > skew:
        raise Forbidden("stale timestamp")


def check_signature(token: str, signature: str | None, timestamp: str, nonce: str | None) -> None:
    if nonce is None or not _same(sign(token, timestamp, nonce), signature):
        raise Forbidden("bad signature")


# Outside CDATA, "<!" starts a markup declaration (<!DOCTYPE, <!ENTITY, ...) or a comment.
_DECLARATION = re.compile(rb"<!(?!--)")


def _outside_cdata(body: bytes) -> bytes:
    """The body without its CDATA sections (text the resident typed may contain anything, "<!"
    included). A scan with find: a lazy CDATA pattern was quadratic on a body of
    unclosed "<![CDATA[" (64 KB took 1.8 s)."""
    parts: list[bytes] = []
    done = 0
    while (start := body.find(b"<![CDATA[", done)) != -1:
        end = body.find(b"]]>", start + 9)
        if end == -1:  # unclosed: the rest is not CDATA
            break
        parts.append(body[done:start])
        done = end + 3
    parts.append(body[done:])
    return b"".join(parts)


def screen_xml(body: bytes) -> None:
    """Refuse DTDs, entities and external references before any parser sees the body.

    Entities (billion laughs, quadratic blow-up) and external references can only be declared
    in a DTD, so refusing every markup declaration refuses them all; WeChat never sends one.
    A byte scan instead of a defusedxml parse: the body is then parsed once, not twice.
    """
    if _DECLARATION.search(_outside_cdata(body)):
        raise BadRequest("forbidden XML construct: markup declaration")


@dataclass(frozen=True)
class Envelope:
    """A decoded callback: the plaintext XML and whether the reply must be encrypted."""

    plaintext: bytes
    encrypted: bool


def open_envelope(
    body: bytes,
    *,
    token: str,
    aes_key: str | None,
    app_id: str,
    query: dict[str, str],
) -> Envelope:
    """Check signatures and decrypt per mode; raise Forbidden or BadRequest.

    Plaintext mode: no encrypt_type. Safe mode: encrypt_type=aes, body carries only <Encrypt>.
    Compatible mode: encrypt_type=aes, body carries both; without a key we read the plain fields.
    """
    check_signature(token, query.get("signature"), query["timestamp"], query.get("nonce"))
    screen_xml(body)
    if query.get("encrypt_type", "raw").lower() != "aes":
        return Envelope(body, encrypted=False)
    try:
        root = SafeET.fromstring(body)
    except (SafeET.ParseError, ValueError, LookupError):
        # ValueError: expat refuses multi-byte declared encodings (encoding="GBK"): was a 500.
        raise BadRequest("malformed XML") from None
    if root.tag != "xml":
        raise BadRequest("root element must be <xml>")
    encrypt = root.findtext("Encrypt")
    if encrypt is None:
        raise BadRequest("encrypt_type=aes without <Encrypt>")
    if aes_key is None:
        if root.findtext("MsgType") is None:
            raise BadRequest("safe-mode message but no WECHAT_AES_KEY configured")
        return Envelope(body, encrypted=False)  # compatible mode, read the plaintext copy
    if not _same(
        sign(token, query["timestamp"], query["nonce"], encrypt), query.get("msg_signature")
    ):
        raise Forbidden("bad msg_signature")
    crypto = WeChatCrypto(token, aes_key, app_id)
    try:
        plaintext = PrpCrypto(crypto.key).decrypt(encrypt, app_id)
    except InvalidAppIdException:
        raise Forbidden("message for another app id") from None
    except Exception:
        raise BadRequest("cannot decrypt <Encrypt>") from None
    plaintext = plaintext if isinstance(plaintext, bytes) else plaintext.encode("utf-8")
    screen_xml(plaintext)
    return Envelope(plaintext, encrypted=True)


_FLAT = (StringField, IntegerField, FloatField, DateTimeField)


# The fields of a text message as WeChat sends it (MsgDataId, Idx: from a mass message).
_TEXT_FIELDS = frozenset(
    {"ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "MsgDataId", "Idx"}
)


def _plain_text(plaintext: bytes) -> BaseMessage | None:
    """Most callbacks are plain text messages: parsed by the C tree builder into the same
    wechatpy TextMessage (xmltodict's handlers run in Python, about 20 µs a message more).
    None for anything else, or anything unusual (an empty, repeated or nested element, an
    attribute, stray text, a field WeChat does not send), which the general path parses and
    judges. The body is screened (no DTD) before it gets here."""
    try:
        root = FastET.fromstring(plaintext)
    except (FastET.ParseError, ValueError, LookupError):
        return None
    if root.tag != "xml" or root.attrib or (root.text and root.text.strip()):
        return None
    data: dict[str, str] = {}
    for child in root:
        tag, text = child.tag, (child.text or "").strip()  # xmltodict strips text too
        if tag not in _TEXT_FIELDS or tag in data or len(child) or child.attrib or not text:
            return None
        if child.tail and child.tail.strip():
            return None
        data[tag] = text
    if data.get("MsgType") != "text" or "FromUserName" not in data or "Content" not in data:
        return None
    numbers = (data.get("CreateTime", ""), data.get("MsgId", "0"))
    if not all(n.isascii() and n.isdigit() for n in numbers):
        return None
    return TextMessage(data)


def parse(plaintext: bytes) -> BaseMessage:
    fast = _plain_text(plaintext)
    if fast is not None:
        return fast
    try:
        message = parse_message(plaintext.decode("utf-8"))
        # wechatpy converts fields when read: read them all now so bad values (a MsgId "x", a
        # Location_X "north") fail here, as a 400, not later in the handler as a 500.
        for name, field in getattr(type(message), "_fields", {}).items():
            value = getattr(message, name)
            # A repeated or nested element (xmltodict: list, dict) where WeChat sends one value.
            if isinstance(value, list) or (isinstance(value, dict) and type(field) in _FLAT):
                raise ValueError(name)
        ok = message is not None and bool(message.source) and message.create_time is not None
    except Exception:
        raise BadRequest("not a WeChat message") from None
    if not ok:
        raise BadRequest("message without FromUserName or CreateTime")
    _check_coordinates(message)
    return message


def _check_coordinates(message: BaseMessage) -> None:
    """A location message or LOCATION event without usable coordinates was a 500 downstream."""
    if message.type == "location":
        lat, lng = message.location
    elif message.type == "event" and _event_name(message) == "location":
        lat, lng = message.latitude, message.longitude
    else:
        return
    try:
        lat, lng = float(lat), float(lng)  # wechatpy keeps Location_X/Y as strings
    except (TypeError, ValueError):
        raise BadRequest("location without valid coordinates") from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):  # also refuses nan
        raise BadRequest("location without valid coordinates")


_MEDIA = {"video", "shortvideo", "link", "file", "music", "miniprogrampage"}


def to_incoming(message: BaseMessage) -> Incoming:
    """Normalise a wechatpy message into what the bot understands."""
    user = message.source
    msg_type = message.type
    if msg_type == "unknown":  # types wechatpy has no class for (e.g. "file")
        msg_type = str(getattr(message, "_data", {}).get("MsgType", "unknown")).lower()
    msg_id = str(getattr(message, "id", "") or "")
    if msg_type == "text":
        return Incoming(user=user, kind=Kind.TEXT, text=message.content or "", msg_id=msg_id)
    if msg_type == "voice":
        text = (getattr(message, "recognition", None) or "").strip()
        return Incoming(user=user, kind=Kind.TEXT, text=text, voice=True, msg_id=msg_id)
    if msg_type == "location":
        lat, lng = message.location
        where = Location(float(lat), float(lng), message.label or "")
        return Incoming(user=user, kind=Kind.LOCATION, location=where, msg_id=msg_id)
    if msg_type == "image":
        return Incoming(user=user, kind=Kind.IMAGE, image=_image(message), msg_id=msg_id)
    if msg_type in _MEDIA:
        return Incoming(user=user, kind=Kind.MEDIA, msg_id=msg_id)
    if msg_type == "event":
        name = _event_name(message)
        at: Location | None = None
        if name == "location":
            at = Location(float(message.latitude), float(message.longitude))
        key = getattr(message, "key", None) or getattr(message, "scene_id", None)
        return Incoming(
            user=user,
            kind=Kind.EVENT,
            event=name,
            event_key=str(key or _raw_text(message, "EventKey")),
            location=at,
        )
    return Incoming(user=user, kind=Kind.UNKNOWN, msg_id=msg_id)


# WeChat's image URLs (mmbiz.qpic.cn): http or https, no spaces or quotes, short.
_PIC_URL = re.compile(r"^https?://[^\s<>\"']{1,500}$")


def _image(message: BaseMessage) -> Image | None:
    """The photo's PicUrl and MediaId; None when the URL is missing or no URL at all (the bot
    then asks for the photo again rather than keep something no one can open)."""
    url = _raw_text(message, "PicUrl").strip()
    if not _PIC_URL.match(url):
        return None
    return Image(url=url, media_id=_raw_text(message, "MediaId").strip()[:128])


def _raw_text(message: BaseMessage, name: str) -> str:
    """A field as sent, whatever wechatpy knows of the message: events it has no class for
    (subscribe_msg_popup_event, PUBLISHJOBFINISH, ...) are UnknownMessages without `event` or
    `key` (reading them was a 500, and WeChat retried). A nested element is no text: ""."""
    value = getattr(message, "_data", {}).get(name)
    return value if isinstance(value, str) else ""


def _event_name(message: BaseMessage) -> str:
    return _raw_text(message, "Event").lower()


def dedupe_key(message: BaseMessage) -> str:
    """WeChat retries a message with the same MsgId, an event with the same sender, CreateTime,
    Event and EventKey. A MsgId is only unique for its sender; two menu clicks in one second
    are two events."""
    msg_id = getattr(message, "id", None)
    if msg_id:
        return f"msg:{message.source}:{msg_id}"
    when = int(message.create_time.timestamp())
    event_key = _raw_text(message, "EventKey")
    return f"evt:{message.source}:{when}:{_event_name(message)}:{event_key}"


def _cdata(text: str) -> str:
    """Text for a CDATA section: "]]>" (in a stored name, a menu) would end it early, so it is
    split across two sections; characters XML cannot carry are dropped."""
    return printable(text).replace("]]>", "]]]]><![CDATA[>")


def render_text(message: BaseMessage, text: str, at: float | None = None) -> str:
    """The passive text reply: what wechatpy's TextReply renders, written out (it builds a
    reply object and formats each field through its descriptors, about 10 µs a message;
    tests hold the two byte for byte). `at`: the reply's time (default now)."""
    return (
        "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n"
        f"<Content><![CDATA[{_cdata(text)}]]></Content>\n"
        f"<FromUserName><![CDATA[{_cdata(message.target or '')}]]></FromUserName>\n"
        f"<ToUserName><![CDATA[{_cdata(message.source or '')}]]></ToUserName>\n"
        f"<CreateTime>{int(time.time() if at is None else at)}</CreateTime>\n</xml>"
    )


def seal(reply_xml: str, *, token: str, aes_key: str, app_id: str, nonce: str) -> str:
    sealed: str = WeChatCrypto(token, aes_key, app_id).encrypt_message(reply_xml, nonce)
    return sealed
