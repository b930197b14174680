"""Old name of `handlers.appkeys` (aiohttp AppKeys; Redis keys are `infra.keys`)."""

from handlers.appkeys import *  # noqa: F403
from handlers.appkeys import (  # noqa: F401
    background_key,
    bot_key,
    http_key,
    mini_api_key,
    redis_key,
    settings_key,
    wechat_api_key,
)
