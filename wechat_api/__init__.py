"""The outbound WeChat / WeCom client, its loopback fakes and the platforms' limits."""

from __future__ import annotations

# WeChat's text limit, the same for a passive reply, a customer-service message and a WeCom
# group-robot message: 2048 bytes of UTF-8 (longer ones are cut or refused with 45002/40058).
TEXT_MAX_BYTES = 2048
# A passive reply travels inside the XML envelope (and is AES-sealed in safe mode): keep some
# room so the whole reply stays under the limit. Searches fit their lists to this.
REPLY_MAX_BYTES = TEXT_MAX_BYTES - 48
