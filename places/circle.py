"""The 15-minute circle as the map page and the poster show it: the community's centre, its
verified places with walking minutes from there, the 5/10/15-minute rings and the legend.

Only places are shown: craftsmen register where they live as often as where they work, and a
home address never goes on a public page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from community import geo, hours
from craftsman_directory.demo import CENTRE as DEMO_CENTRE
from places import service
from places.kinds import KINDS, legend
from settings import Settings

RING_MINUTES = (5, 10, 15)


@dataclass(frozen=True)
class Spot:
    id: int
    name: str
    kind: str
    address: str
    phone: str
    hours: str
    offerings: str
    lat: float  # GCJ-02
    lng: float
    distance_m: float
    minutes: int
    note: str  # 营业中 / 明天08:00开门

    def as_json(self) -> dict[str, Any]:
        wlat, wlng = geo.gcj02_to_wgs84(self.lat, self.lng)
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "address": self.address,
            "phone": self.phone,
            "hours": self.hours,
            "offerings": self.offerings,
            "lat": self.lat,
            "lng": self.lng,
            "wlat": round(wlat, 7),
            "wlng": round(wlng, 7),
            "minutes": self.minutes,
            "note": self.note,
        }


@dataclass(frozen=True)
class Circle:
    name: str
    centre: tuple[float, float]  # GCJ-02
    centre_label: str
    spots: list[Spot]  # nearest first

    def kinds_present(self) -> list[str]:
        present = {s.kind for s in self.spots}
        return [k for k in KINDS if k in present]

    def by_kind(self) -> dict[str, list[Spot]]:
        out: dict[str, list[Spot]] = {k: [] for k in self.kinds_present()}
        for s in self.spots:
            out[s.kind].append(s)
        return out


async def build(settings: Settings, now: datetime) -> Circle:
    """The circle around COMMUNITY_CENTRE, else the service hall (党群服务中心), else the middle
    of the places, else the demo centre."""
    places = await service.public_places()
    label = "社区中心"
    if settings.centre is not None:
        centre = settings.centre
    else:
        hall = next((p for p in places if p.kind == "service_hall"), None)
        if hall is not None:
            centre, label = (hall.lat, hall.lng), hall.name
        elif places:
            centre = (
                sum(p.lat for p in places) / len(places),
                sum(p.lng for p in places) / len(places),
            )
        else:
            centre = DEMO_CENTRE
    minute = now.replace(second=0, microsecond=0)
    spots = []
    for p in places:
        d = geo.haversine_m(centre[0], centre[1], p.lat, p.lng)
        _, note = hours.state_at(p.hours, minute)
        spots.append(
            Spot(
                p.pk,
                p.name,
                p.kind,
                p.address,
                p.phone,
                p.hours,
                p.offerings,
                p.lat,
                p.lng,
                d,
                geo.walk_minutes(d),
                note,
            )  # fmt: skip
        )
    spots.sort(key=lambda s: s.distance_m)
    return Circle(settings.community_name, centre, label, spots)


def page_data(circle: Circle, settings: Settings) -> dict[str, Any]:
    """Everything the map page's script draws, in one JSON object embedded in the page."""
    wlat, wlng = geo.gcj02_to_wgs84(*circle.centre)
    return {
        "name": circle.name,
        "centre": {
            "lat": circle.centre[0],
            "lng": circle.centre[1],
            "wlat": round(wlat, 7),
            "wlng": round(wlng, 7),
            "label": circle.centre_label,
        },
        "spots": [s.as_json() for s in circle.spots],
        "legend": legend(),
        "rings": list(RING_MINUTES),
        "pace": {"normal": geo.WALK_M_PER_MIN, "elderly": geo.ELDERLY_WALK_M_PER_MIN},
        "tiles": {
            "url": settings.map_tile_url,
            "datum": settings.map_tile_datum,
            "attribution": settings.map_tile_attribution,
        },
    }
