"""`python main.py chat`: talk to the bot in the terminal, through the same start-up as
`serve` (without listening)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.messages import Channel, Image, Incoming, Kind, Location
from handlers.appkeys import bot_key
from server.app import create_app
from settings import Settings

CHAT_HELP = """输入文字和机器人对话。特殊命令：
  /loc 纬度 经度 [地名]   发送位置（GCJ-02），例如 /loc 31.2304 121.4737 人民广场
  /voice 文字            模拟一条语音（识别出的文字）
  /event subscribe       模拟关注事件（也可 unsubscribe、click KEY）
  /image                 模拟一条机器人看不了的图片（没有图片地址）
  /photo [图片地址]       模拟一张照片（随手拍：转给网格员）
  /quit                  退出"""


def chat_message(user: str, line: str) -> Incoming:
    """Turn a terminal line into the normalised message the bot receives."""
    if line.startswith("/loc"):
        parts = line.split()
        lat, lng = float(parts[1]), float(parts[2])
        label = " ".join(parts[3:])
        return Incoming(user, Kind.LOCATION, Channel.CHAT, location=Location(lat, lng, label))
    if line.startswith("/voice"):
        return Incoming(user, Kind.TEXT, Channel.CHAT, text=line[6:].strip(), voice=True)
    if line.startswith("/event"):
        parts = line.split()
        name = parts[1].lower() if len(parts) > 1 else ""
        key = parts[2] if len(parts) > 2 else ""
        return Incoming(user, Kind.EVENT, Channel.CHAT, event=name, event_key=key)
    if line.startswith("/photo"):
        url = line[6:].strip() or "http://mmbiz.qpic.cn/mmbiz_jpg/terminal-demo/0"
        return Incoming(user, Kind.IMAGE, Channel.CHAT, image=Image(url, "terminal-demo"))
    if line.startswith("/image"):
        return Incoming(user, Kind.MEDIA, Channel.CHAT)
    return Incoming(user, Kind.TEXT, Channel.CHAT, text=line)


async def chat(settings: Settings, user: str) -> None:
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()  # runs the same start-up as `serve`, without listening
    try:
        bot = app[bot_key]

        async def notify(to: str, text: str) -> None:
            print(f"\n[消息推送给 {to}]\n{text}\n", flush=True)

        bot.services.notify = notify
        print(CHAT_HELP, flush=True)
        while True:
            try:
                line = (await asyncio.to_thread(input, "你> ")).strip()
            except EOFError:
                break
            if not line:
                continue
            if line in {"/quit", "/exit"}:
                break
            try:
                msg = chat_message(user, line)
            except (IndexError, ValueError):
                print(CHAT_HELP)
                continue
            for reply in await bot.handle(msg):
                print(f"邻里> {reply.text}", flush=True)
    finally:
        await runner.cleanup()
