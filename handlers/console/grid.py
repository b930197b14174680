"""The console's grid part: residents' reports, whether each reached a grid worker, who closed
it (grid.service reads them and says their state)."""

from __future__ import annotations

from typing import Any

from grid import service as grid_service
from models.push import PushStatus


async def grid_reports(limit: int = 20) -> list[dict[str, Any]]:
    """Residents' reports still open (urgent first, oldest first: all of them, up to a bound),
    then the most recent closed ones; whether each reached a grid worker and who closed it."""
    out = []
    for r, pushes in await grid_service.board(limit):
        out.append(
            {
                "id": r.pk,
                "text": r.text,
                "address": r.address,
                "state": grid_service.reached(pushes),
                "retry": [m.pk for m in pushes if m.status == PushStatus.FAILED],
                "urgent": r.urgent,
                "open": r.closed_at is None,
                "closed": grid_service.closed_text(r),
            }
        )
    return out
