"""`GET /`: a small page for whoever opens the server's address, pointing where to go."""

from __future__ import annotations

from aiohttp import web

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>邻里 linli</title>
<style>
  body { font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei",
         sans-serif; max-width: 36em; margin: 2em auto; padding: 0 1em; color: #1d2b24;
         line-height: 1.7; font-size: 17px; }
  h1 { color: #1f7a4d; font-size: 1.4em; }
  li { margin: .5em 0; }
  code { background: #f1f4f2; padding: .1em .3em; border-radius: 4px; }
</style>
</head>
<body>
<h1>邻里 · 一刻钟便民生活圈</h1>
<p>这是邻里的微信公众号后台。居民请在微信里和公众号对话。</p>
<ul>
  <li><a href="/console/">工作台</a>：食堂工作人员和社区管理员登录</li>
  <li><a href="/map/">生活圈地图</a>：附近的便民服务点</li>
  <li><a href="/api/openapi.json">小程序接口文档</a>（OpenAPI）</li>
  <li><a href="/healthz">运行状态</a></li>
</ul>
<p>微信回调地址是 <code>/wechat</code>；在终端里试用：<code>.venv/bin/python main.py chat</code></p>
</body>
</html>
"""

# No scripts; inline styles only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"


async def index(request: web.Request) -> web.Response:
    """Anyone opening the server's address in a browser."""
    resp = web.Response(text=PAGE, content_type="text/html")
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def setup(app: web.Application) -> None:
    app.router.add_get("/", index)
