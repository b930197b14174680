"""Photos of grid reports kept beyond WeChat's 3 days.

A report's photos are WeChat's links (PicUrl) and MediaIds, which WeChat serves for 3 days. A
background job (`run`, beside the push worker: server/lifecycle.py), never the answer to the
resident, copies each new photo through the official API (获取临时素材,
`WeChatAPI.download_media`) into DATA_DIR/photos/<report id>/<n>.jpg: at most PHOTO_MAX_BYTES,
an image WeChat calls one and whose first bytes say so. The console shows the copy when there
is one, else WeChat's link.

Level-triggered like the delivery scheduler: every tick looks at the reports of the last 3
days and copies what is not copied yet, so a tick missed is caught up by the next. Each photo's
outcome is kept in its entry of `GridReport.photos` ("stored": the file's name; "failed": why
it will not be tried again; "tries": transient failures so far)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from tortoise.transactions import in_transaction

from models.grid import GridReport
from wechat_api.client import MediaTooLarge, WeChatAPI, WeChatAPIError

log = logging.getLogger(__name__)

PHOTO_MAX_BYTES = 5 * 1024 * 1024
WECHAT_KEEPS = dt.timedelta(days=3)  # temporary media, then WeChat's link and MediaId expire
TRIES = 10  # other failures (timeouts, WeChat busy, a token refused) before it is given up
MEDIA_GONE = {40007, 41006}  # invalid or missing media_id: WeChat will not serve it again
TICK_SECONDS = 30.0
BATCH = 500  # reports with photos looked at per tick, newest first (3 days of them are few)
# What a photo may be: WeChat's word for it, and the first bytes of such a file.
IMAGE_MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def photos_dir(data_dir: Path) -> Path:
    return data_dir / "photos"


def photo_path(data_dir: Path, report_id: int, n: int) -> Path:
    """The copy of a report's `n`th photo (1-based)."""
    return photos_dir(data_dir) / str(int(report_id)) / f"{int(n)}.jpg"


def image_type(content: bytes) -> str | None:
    """The image type a file's first bytes say, among those kept; None for anything else."""
    for kind, magics in IMAGE_MAGIC.items():
        if content.startswith(magics):
            return kind
    return None


def stored(data_dir: Path, report_id: int, n: int) -> Path | None:
    """The copy of a photo if there is one on this machine."""
    path = photo_path(data_dir, report_id, n)
    return path if path.is_file() else None


def _write(path: Path, content: bytes) -> None:
    """Atomically: a reader never sees half a photo."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def forget(data_dir: Path, report_ids: list[int]) -> int:
    """Delete the copies of these reports' photos (删除我的信息); how many reports had some."""
    removed = 0
    for report_id in report_ids:
        folder = photos_dir(data_dir) / str(int(report_id))
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


async def _fetch(api: WeChatAPI, media_id: str) -> tuple[bytes | None, str]:
    """The photo's bytes, or None and why: "retry" for a transient failure, else the reason
    it is given up (WeChat's errcode, too large, not an image)."""
    if not media_id:
        return None, "no media_id"
    try:
        media = await api.download_media(media_id, max_bytes=PHOTO_MAX_BYTES)
    except MediaTooLarge:
        return None, "too large"
    except WeChatAPIError as exc:
        return None, f"wechat {exc.errcode}" if exc.errcode in MEDIA_GONE else "retry"
    declared = media.content_type.split(";")[0].strip().lower()
    if declared not in IMAGE_MAGIC or image_type(media.content) is None:
        return None, f"not an image ({declared or 'no type'})"
    return media.content, ""


async def _settle(report_id: int, index: int, media_id: str, outcome: dict[str, object]) -> bool:
    """Record a photo's outcome in its entry, unless the report changed under us (the entry
    gone, e.g. erased). False then."""
    async with in_transaction() as conn:
        report = await GridReport.select_for_update().using_db(conn).get_or_none(pk=report_id)
        photos = list(report.photos or []) if report is not None else []
        if report is None or index >= len(photos) or photos[index].get("media_id") != media_id:
            return False
        photos[index] = {**photos[index], **outcome}
        report.photos = photos
        await report.save(update_fields=["photos"], using_db=conn)
    return True


async def copy_new(api: WeChatAPI, data_dir: Path, now: dt.datetime) -> dict[str, int]:
    """Copy the photos of the last 3 days' reports not copied yet; counts of what happened."""
    done = {"stored": 0, "failed": 0, "retry": 0}
    reports = (
        await GridReport.filter(created_at__gte=now - WECHAT_KEEPS, photos__isnull=False)
        .order_by("-id")
        .limit(BATCH)
    )
    for report in reports:
        for index, entry in enumerate(report.photos or []):
            if entry.get("stored") or entry.get("failed"):
                continue
            media_id = str(entry.get("media_id") or "")
            content, why = await _fetch(api, media_id)
            if content is not None:
                path = photo_path(data_dir, report.pk, index + 1)
                await asyncio.to_thread(_write, path, content)
                if await _settle(report.pk, index, media_id, {"stored": path.name}):
                    done["stored"] += 1
                else:  # erased (or changed) meanwhile: keep nothing of it
                    await asyncio.to_thread(path.unlink, missing_ok=True)
                continue
            tries = int(entry.get("tries", 0) or 0) + 1
            if why == "retry" and tries < TRIES:
                await _settle(report.pk, index, media_id, {"tries": tries})
                done["retry"] += 1
                continue
            log.info("grid photo not kept", extra={"report": report.pk, "why": why})
            await _settle(report.pk, index, media_id, {"failed": why, "tries": tries})
            done["failed"] += 1
    return done


async def run(
    stop: asyncio.Event, api: WeChatAPI, data_dir: Path, clock: Callable[[], dt.datetime]
) -> None:
    """Copy new photos every TICK_SECONDS until `stop`."""
    while not stop.is_set():
        try:
            await copy_new(api, data_dir, clock())
        except Exception:
            log.exception("grid photo copy failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), TICK_SECONDS)
