"""Coordinates: WGS-84 → GCJ-02, distances and walking time (craftsmen and places alike).

WeChat location messages and Tencent maps are GCJ-02; GPS devices and most spreadsheets exported
from foreign tools are WGS-84. The directory and the places store GCJ-02 only. The conversion
is the widely published public algorithm (the PyPI packages for it, e.g. eviltransform, are
unmaintained one-file copies of the same ~30 lines, so it lives here rather than as a
dependency).
"""

from __future__ import annotations

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as used by GCJ-02
_EE = 0.00669342162296594323
EARTH_RADIUS_M = 6371008.8

WALK_M_PER_MIN = 80.0
ELDERLY_WALK_M_PER_MIN = 45.0
WALK_MINUTES = 15


# Redis GEO (the search index) holds latitudes within the Web Mercator band only.
GEO_LAT_MAX = 85.05112878


def on_map(lat: float, lng: float) -> bool:
    """Whether the index can hold the point (also False for NaN)."""
    return -GEO_LAT_MAX <= lat <= GEO_LAT_MAX and -180 <= lng <= 180


def out_of_china(lat: float, lng: float) -> bool:
    """GCJ-02 applies only inside (roughly) mainland China; elsewhere it equals WGS-84."""
    return not (72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _d_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _d_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """(lat, lng) from GPS to the GCJ-02 system WeChat uses."""
    if out_of_china(lat, lng):
        return lat, lng
    d_lat = _d_lat(lng - 105.0, lat - 35.0)
    d_lng = _d_lng(lng - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lat + d_lat, lng + d_lng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """Inverse by fixed-point iteration (the forward shift varies slowly; <0.1 m after 5 steps)."""
    w_lat, w_lng = lat, lng
    for _ in range(5):
        g_lat, g_lng = wgs84_to_gcj02(w_lat, w_lng)
        w_lat += lat - g_lat
        w_lng += lng - g_lng
    return w_lat, w_lng


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def walk_speed(elderly: bool) -> float:
    return ELDERLY_WALK_M_PER_MIN if elderly else WALK_M_PER_MIN


def walk_minutes(distance_m: float, elderly: bool = False) -> int:
    """Minutes on foot, rounded (at least 1): straight-line distance at the resident's pace.

    Rounded rather than ceiled: Redis GEO distances carry geohash error of a few metres,
    which must not tip "6 minutes" into "7"."""
    return max(1, int(distance_m / walk_speed(elderly) + 0.5))


def walk_radius_m(elderly: bool = False) -> float:
    """How far a 15-minute walk reaches: 1200 m, or 675 m for elderly residents."""
    return WALK_MINUTES * walk_speed(elderly)
