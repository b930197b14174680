"""The label set from ../shared/eval/LABELS.md; the rest of the bot routes on these names."""

from __future__ import annotations

INTENTS: tuple[str, ...] = (
    "find_craftsman",
    "menu_query",
    "delivery_signup",
    "delivery_cancel",
    "delivery_status",
    "craftsman_register",
    "menu_subscribe",
    "menu_unsubscribe",
    "help",
    "contact_grid_worker",
    "emergency",
    "find_place",
    "unknown",
)

CATEGORIES: tuple[str, ...] = (
    "tailor",
    "shoe_repair",
    "key_lock",
    "appliance_repair",
    "phone_repair",
    "bike_repair",
    "plumbing_electric",
    "housekeeping",
    "haircut",
    "knife_sharpening",
    "watch_repair",
    "furniture_repair",
    "recycling",
)

# Service points of the 15-minute circle (``find_place``); not tradespeople.
PLACES: tuple[str, ...] = (
    "elder_care",
    "health",
    "pharmacy",
    "market",
    "shop",
    "breakfast",
    "express",
    "canteen",
    "charging",
    "rider_station",
    "culture_sports",
    "service_hall",
    "toilet",
)
