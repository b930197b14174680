"""The WeCom intelligent bot's cipher: WeCom's WXBizMsgCrypt scheme with an empty receive id
("企业内部智能机器人场景中，ReceiveId为空字符串": developer.work.weixin.qq.com, path 101033).

wechatpy's `enterprise.crypto.PrpCrypto` does that cipher and accepts "" as the id; its
`WeChatCrypto` wrappers do not fit (they read and write XML envelopes, and compare signatures
with `!=`), so the JSON envelope and the constant-time signature check are here. Used by the
callback (handlers/wecom_bot_protocol.py) and by the fake WeCom (wechat_api/fake_wecom.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from wechatpy.enterprise.crypto import PrpCrypto

RECEIVE_ID = ""


class BadSignature(Exception):
    """msg_signature does not match: the caller is not WeCom."""


class BadEnvelope(Exception):
    """Not JSON, no "encrypt", undecryptable, or a plaintext that is not a JSON object."""


def sign(*parts: str) -> str:
    """SHA-1 of the lexically sorted parts, concatenated (token, timestamp, nonce, data)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _same(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


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
            raise BadSignature("bad msg_signature")

    def _decrypt(self, data: str) -> str:
        try:
            text = PrpCrypto(self._key).decrypt(data, RECEIVE_ID)
        except Exception:
            # wechatpy raises InvalidCorpIdException for another receive id, and struct or
            # binascii errors for garbage: all mean "not for us / not ours".
            raise BadEnvelope("cannot decrypt") from None
        return text if isinstance(text, str) else text.decode("utf-8")

    def verify_url(
        self, signature: str | None, timestamp: str, nonce: str | None, echo: str
    ) -> str:
        """GET: check msg_signature over (token, timestamp, nonce, echostr); the plain echostr."""
        self._check(signature, timestamp, nonce, echo)
        return self._decrypt(echo)

    def open(
        self, body: bytes, signature: str | None, timestamp: str, nonce: str | None
    ) -> dict[str, Any]:
        """POST body → the decrypted message as a dict; Forbidden or BadRequest."""
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise BadEnvelope("body is not JSON") from None
        encrypt = envelope.get("encrypt") if isinstance(envelope, dict) else None
        if not isinstance(encrypt, str) or not encrypt:
            raise BadEnvelope('body without "encrypt"')
        self._check(signature, timestamp, nonce, encrypt)
        try:
            message = json.loads(self._decrypt(encrypt))
        except ValueError:
            raise BadEnvelope("decrypted body is not JSON") from None
        if not isinstance(message, dict):
            raise BadEnvelope("decrypted body is not an object")
        return message

    def seal(
        self, payload: dict[str, Any], nonce: str, timestamp: str | None = None
    ) -> dict[str, Any]:
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
