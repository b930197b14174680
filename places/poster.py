"""The printable 布点图 for the notice board and the group chat: the schematic map with its
walking-time rings, the legend, the places by kind with walking minutes, the community's name
and a QR code to the map page. `python main.py poster --out FILE.png|.pdf`, or the console.

One layout, drawn through a small canvas with two backends: Pillow for the PNG, fpdf2 for the
PDF (real text with the CJK font embedded as a subset, so it prints sharp and can be searched).
The QR code's modules come from segno and are drawn as squares by either backend. No browser.
"""

from __future__ import annotations

import io
import logging
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from community import geo
from community.clock import SHANGHAI
from places.circle import RING_MINUTES, Circle
from places.kinds import KINDS, outline
from settings import Settings

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

# fontTools narrates every table of the font subset fpdf2 embeds, at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)

FORMATS = ("png", "pdf")
PAGE_W, PAGE_H = 595.28, 841.89  # A4 in points
PNG_SCALE = 2.5  # 1488 x 2105 pixels, about 180 dpi on A4
GREEN = "#1f7a4d"
INK = "#1d2b24"
MUTED = "#5f6f67"

# Debian's fonts-noto-cjk (Simplified Chinese face of the collection), then common fallbacks.
FONT_CANDIDATES: list[tuple[str, str, int]] = [
    (
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
        2,
    ),
    (
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        0,
    ),
]


class FontMissing(RuntimeError):
    """No CJK font on this machine."""


def find_font() -> tuple[str, str, int]:
    for regular, bold, index in FONT_CANDIDATES:
        if Path(regular).exists():
            return regular, bold if Path(bold).exists() else regular, index
    raise FontMissing("没有中文字体：请安装 fonts-noto-cjk（apt-get install -y fonts-noto-cjk）")


def map_url(settings: Settings) -> str:
    return settings.base_url + "/map/"


class Canvas(Protocol):
    """Points, y down, text on its baseline."""

    def rect(self, x: float, y: float, w: float, h: float, fill: str) -> None: ...
    def circle(
        self, cx: float, cy: float, r: float, fill: str | None, stroke: str | None,
        width: float = 1.0, dashed: bool = False,
    ) -> None: ...  # fmt: skip
    def polygon(self, points: list[tuple[float, float]], fill: str, stroke: str | None) -> None: ...
    def line(
        self, x1: float, y1: float, x2: float, y2: float, colour: str, width: float
    ) -> None: ...
    def text(
        self, x: float, y: float, s: str, size: float, colour: str = INK, anchor: str = "left",
        bold: bool = False,
    ) -> None: ...  # fmt: skip
    def width(self, s: str, size: float, bold: bool = False) -> float: ...
    def finish(self) -> bytes: ...


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


class PngCanvas:
    def __init__(self, font: tuple[str, str, int]) -> None:
        from PIL import Image, ImageDraw

        self.s = PNG_SCALE
        self.img = Image.new("RGB", (round(PAGE_W * self.s), round(PAGE_H * self.s)), "white")
        self.draw = ImageDraw.Draw(self.img)
        self.font_files = font
        self._fonts: dict[tuple[int, bool], FreeTypeFont] = {}

    def _font(self, size: float, bold: bool) -> FreeTypeFont:
        from PIL import ImageFont

        key = (round(size * self.s), bold)
        if key not in self._fonts:
            path = self.font_files[1] if bold else self.font_files[0]
            self._fonts[key] = ImageFont.truetype(path, key[0], index=self.font_files[2])
        return self._fonts[key]

    def _p(self, x: float, y: float) -> tuple[float, float]:
        return x * self.s, y * self.s

    def rect(self, x: float, y: float, w: float, h: float, fill: str) -> None:
        self.draw.rectangle([*self._p(x, y), *self._p(x + w, y + h)], fill=fill)

    def circle(
        self, cx: float, cy: float, r: float, fill: str | None, stroke: str | None,
        width: float = 1.0, dashed: bool = False,
    ) -> None:  # fmt: skip
        box = [*self._p(cx - r, cy - r), *self._p(cx + r, cy + r)]
        w = max(1, round(width * self.s))
        if fill:
            self.draw.ellipse(box, fill=fill)
        if stroke and dashed:  # Pillow draws no dashes: arcs of 6 degrees, gaps of 4
            for start in range(0, 360, 10):
                self.draw.arc(box, start, start + 6, fill=stroke, width=w)
        elif stroke:
            self.draw.ellipse(box, outline=stroke, width=w)

    def polygon(self, points: list[tuple[float, float]], fill: str, stroke: str | None) -> None:
        self.draw.polygon([self._p(x, y) for x, y in points], fill=fill, outline=stroke)

    def line(self, x1: float, y1: float, x2: float, y2: float, colour: str, width: float) -> None:
        self.draw.line([*self._p(x1, y1), *self._p(x2, y2)], fill=colour,
                       width=max(1, round(width * self.s)))  # fmt: skip

    def text(
        self, x: float, y: float, s: str, size: float, colour: str = INK, anchor: str = "left",
        bold: bool = False,
    ) -> None:  # fmt: skip
        a = {"left": "ls", "middle": "ms", "right": "rs"}[anchor]
        self.draw.text(self._p(x, y), s, fill=colour, font=self._font(size, bold), anchor=a)

    def width(self, s: str, size: float, bold: bool = False) -> float:
        return self.draw.textlength(s, font=self._font(size, bold)) / self.s

    def finish(self) -> bytes:
        out = io.BytesIO()
        self.img.save(out, format="PNG", optimize=True)
        return out.getvalue()


class PdfCanvas:
    def __init__(self, font: tuple[str, str, int], title: str) -> None:
        from fpdf import FPDF

        pdf = FPDF(unit="pt", format="A4")
        pdf.set_auto_page_break(False)
        pdf.set_margin(0)
        pdf.set_title(title)
        pdf.set_creator("linli")
        pdf.add_font("cjk", "", font[0], collection_font_number=font[2])
        pdf.add_font("cjk", "B", font[1], collection_font_number=font[2])
        pdf.add_page()
        self.pdf = pdf

    def _fill(self, colour: str) -> None:
        self.pdf.set_fill_color(*_rgb(colour))

    def _draw(self, colour: str, width: float) -> None:
        self.pdf.set_draw_color(*_rgb(colour))
        self.pdf.set_line_width(width)

    def rect(self, x: float, y: float, w: float, h: float, fill: str) -> None:
        self._fill(fill)
        self.pdf.rect(x, y, w, h, style="F")

    def circle(
        self, cx: float, cy: float, r: float, fill: str | None, stroke: str | None,
        width: float = 1.0, dashed: bool = False,
    ) -> None:  # fmt: skip
        if fill:
            self._fill(fill)
        if stroke:
            self._draw(stroke, width)
        if dashed:
            self.pdf.set_dash_pattern(dash=4, gap=3)
        style = ("D" if stroke else "") + ("F" if fill else "")
        self.pdf.ellipse(cx - r, cy - r, 2 * r, 2 * r, style=style or "D")
        if dashed:
            self.pdf.set_dash_pattern()

    def polygon(self, points: list[tuple[float, float]], fill: str, stroke: str | None) -> None:
        self._fill(fill)
        if stroke:
            self._draw(stroke, 0.8)
        self.pdf.polygon(points, style="DF" if stroke else "F")

    def line(self, x1: float, y1: float, x2: float, y2: float, colour: str, width: float) -> None:
        self._draw(colour, width)
        self.pdf.line(x1, y1, x2, y2)

    def text(
        self, x: float, y: float, s: str, size: float, colour: str = INK, anchor: str = "left",
        bold: bool = False,
    ) -> None:  # fmt: skip
        self.pdf.set_font("cjk", "B" if bold else "", size)
        self.pdf.set_text_color(*_rgb(colour))
        w = self.pdf.get_string_width(s)
        dx = {"left": 0.0, "middle": w / 2, "right": w}[anchor]
        self.pdf.text(x - dx, y, s)

    def width(self, s: str, size: float, bold: bool = False) -> float:
        self.pdf.set_font("cjk", "B" if bold else "", size)
        return float(self.pdf.get_string_width(s))

    def finish(self) -> bytes:
        return bytes(self.pdf.output())


# ---- the layout ------------------------------------------------------------------------------


def marker(c: Canvas, kind: str, x: float, y: float, r: float) -> None:
    k = KINDS[kind]
    pts = outline(k.shape)
    if not pts:
        hollow = k.shape == "circle_hollow"
        c.circle(x, y, r * 0.85, "#ffffff" if hollow else k.colour, k.colour, r * 0.3)
        return
    c.polygon([(x + px * r, y + py * r) for px, py in pts], k.colour, "#ffffff")


def _map(c: Canvas, view: Circle, x0: float, y0: float, size: float) -> None:
    """The schematic: rings, places, labels, scale bar and north, in a `size` square."""
    c.rect(x0, y0, size, size, "#f7f5ef")
    half_m = geo.walk_radius_m() * 1.15
    s = (size / 2) / half_m  # points per metre
    cx, cy = x0 + size / 2, y0 + size / 2
    lat0, lng0 = view.centre
    m_lat = 111_195.0
    m_lng = m_lat * math.cos(math.radians(lat0))
    taken: list[tuple[float, float, float, float]] = [(cx - 40, cy - 6, cx + 40, cy + 18)]
    for minutes, shade in zip(
        reversed(RING_MINUTES), ("#e6f4ec", "#d3ecdd", "#bfe3cd"), strict=True
    ):
        r = minutes * geo.WALK_M_PER_MIN * s
        c.circle(cx, cy, r, shade, GREEN, 1.0, dashed=True)
        c.text(cx + 3, cy - r + 11, f"{minutes}分钟", 8.5, GREEN, bold=True)
        taken.append((cx + 3, cy - r + 2, cx + 38, cy - r + 13))
    c.circle(cx, cy, 4.5, GREEN, "#ffffff", 1.5)
    c.text(cx, cy + 15, view.centre_label, 8, INK, "middle", bold=True)
    labels: list[tuple[float, float, str]] = []
    for spot in view.spots:
        x = cx + (spot.lng - lng0) * m_lng * s
        y = cy - (spot.lat - lat0) * m_lat * s
        if not (x0 + 6 < x < x0 + size - 6 and y0 + 6 < y < y0 + size - 6):
            continue  # beyond the frame: still in the list below
        marker(c, spot.kind, x, y, 6)
        taken.append((x - 6, y - 6, x + 6, y + 6))
        w = c.width(spot.name, 6.5)
        # Right of the marker, else left of it; a label that would cover another is left out
        # (the list below names every place).
        for lx in (x + 8, x - 8 - w):
            box = (lx, y - 4, lx + w, y + 4)
            if box[0] > x0 and box[2] < x0 + size and not any(_overlap(box, t) for t in taken):
                taken.append(box)
                labels.append((lx, y + 3, spot.name))
                break
    for lx, ly, text in labels:
        c.text(lx, ly, text, 6.5, INK)
    bar = 500 * s
    c.rect(x0 + 10, y0 + size - 18, bar, 4, INK)
    c.rect(x0 + 10 + bar / 2, y0 + size - 17.2, bar / 2 - 0.8, 2.4, "#ffffff")
    c.text(x0 + 10, y0 + size - 22, "0", 7)
    c.text(x0 + 10 + bar, y0 + size - 22, "500米", 7, anchor="middle")
    nx, ny = x0 + size - 16, y0 + 10
    c.polygon([(nx, ny), (nx - 5, ny + 13), (nx, ny + 10), (nx + 5, ny + 13)], INK, None)
    c.text(nx, ny + 23, "北", 7, anchor="middle")


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _qr(c: Canvas, url: str, x: float, y: float, size: float) -> None:
    import segno

    qr = segno.make(url, error="m")
    matrix = [list(row) for row in qr.matrix]
    n = len(matrix) + 8  # four modules of quiet zone on each side
    m = size / n
    c.rect(x, y, size, size, "#ffffff")
    for j, row in enumerate(matrix):
        for i, dark in enumerate(row):
            if dark:
                c.rect(x + (i + 4) * m, y + (j + 4) * m, m + 0.02, m + 0.02, "#000000")


def layout(c: Canvas, view: Circle, url: str, when: datetime) -> None:
    c.rect(0, 0, PAGE_W, 74, GREEN)
    c.text(28, 36, view.name, 22, "#ffffff", bold=True)
    c.text(28, 60, "15分钟便民生活圈 · 服务点布点图", 13, "#ffffff")
    c.text(PAGE_W - 28, 60, f"{len(view.spots)}个服务点", 11, "#ffffff", "right")
    # Map on the left, legend on the right.
    size = 360.0
    _map(c, view, 28, 90, size)
    lx, ly = 28 + size + 20, 100
    c.text(lx, ly + 4, "图例", 11, INK, bold=True)
    ly += 20
    groups = view.by_kind()
    for group in groups:
        marker(c, group, lx + 6, ly - 3.5, 6)
        c.text(lx + 17, ly, f"{KINDS[group].name}（{len(groups[group])}）", 9)
        ly += 18
    ly += 6
    for line in ("步行时间从", f"“{view.centre_label}”", "起算，每分钟80米，", "直线距离估算。"):
        c.text(lx, ly, line, 7.5, MUTED)
        ly += 11
    # The list by kind, in columns.
    top, bottom = 482.0, 720.0
    c.text(28, top - 8, "各类服务点（步行分钟）", 11, INK, bold=True)
    col_w, x, y = 180.0, 28.0, top + 8
    rows: list[tuple[str, str | None]] = []
    for group, spots in groups.items():
        rows.append((KINDS[group].name, group))
        rows += [(f"{s.name}  {s.minutes}分钟", None) for s in spots]
    for i, (label, kind) in enumerate(rows):
        line_h = 15.0 if kind else 12.0
        if y + line_h + (12.0 if kind else 0.0) > bottom:  # a kind's name stays with its first
            x, y = x + col_w, top + 8
            if x + col_w > PAGE_W:
                c.text(x - col_w, bottom + 10, f"……另有{len(rows) - i}行，见地图页", 7.5, MUTED)
                break
        if kind:
            marker(c, kind, x + 5, y - 3.5, 5)
            c.text(x + 14, y, label, 9, KINDS[kind].colour, bold=True)
        else:
            shown = label
            while c.width(shown, 8) > col_w - 20 and len(shown) > 4:
                shown = shown[:-2] + "…"
            c.text(x + 14, y, shown, 8)
        y += line_h
    # QR code and footer.
    q = 92.0
    qx, qy = PAGE_W - 28 - q, PAGE_H - 28 - q
    _qr(c, url, qx, qy, q)
    c.text(qx - 10, qy + 36, "微信扫一扫", 11, INK, "right", bold=True)
    c.text(qx - 10, qy + 54, "看地图、查营业时间和电话", 9, MUTED, "right")
    c.text(qx - 10, qy + 70, url, 7, MUTED, "right")
    c.line(28, PAGE_H - 22, PAGE_W - 28, PAGE_H - 22, "#d0d7d3", 0.6)
    c.text(28, PAGE_H - 10, f"{view.name} · {when:%Y年%m月%d日}制 · 以社区核实的信息为准", 7, MUTED)


def render(view: Circle, url: str, fmt: str, when: datetime | None = None) -> bytes:
    """The poster as PNG or PDF bytes; raises FontMissing without a CJK font."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    font = find_font()
    canvas: Canvas = (
        PngCanvas(font) if fmt == "png" else PdfCanvas(font, f"{view.name} 15分钟便民生活圈")
    )
    layout(canvas, view, url, when or datetime.now(SHANGHAI))
    return canvas.finish()
