"""Addresses and areas moved to `community.buildings` (every domain needs them); this name stays
for code written against it."""

from community.buildings import (
    UNASSIGNED,
    AddressError,
    area_for,
    buildings_of,
    covers,
    parse_address,
    parse_building,
)

__all__ = [
    "UNASSIGNED",
    "AddressError",
    "area_for",
    "buildings_of",
    "covers",
    "parse_address",
    "parse_building",
]
