"""Typed application keys (aiohttp `web.AppKey`): no globals."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.dispatch import Bot
from settings import Settings
from wechat_api.client import WeChatAPI

settings_key = web.AppKey("settings", Settings)
redis_key = web.AppKey("redis", Redis)
http_key = web.AppKey("http", aiohttp.ClientSession)
wechat_api_key = web.AppKey("wechat_api", WeChatAPI)  # the Official Account
mini_api_key = web.AppKey("mini_api", WeChatAPI)  # the mini-program (login, subscribe, checks)
bot_key = web.AppKey("bot", Bot)
# Answers still being worked on after the passive-reply deadline; awaited on shutdown.
background_key = web.AppKey("background", set[asyncio.Task[None]])
