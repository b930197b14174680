"""The canteen's standing rows (the canteen, its meals, a day's menus) as answers read them,
kept in process (infra/kept.py).

"今天吃什么" is one message in eight, and each asked the database the same three questions;
menus change a few times a day. Any save or delete of a Canteen, CanteenMeal or Menu in this
process drops what is kept, as does a publication when its transaction commits (`clear`); a
write by another process shows within FRESH_FOR seconds.
"""

from __future__ import annotations

from infra.kept import Kept
from models.canteen import Canteen, CanteenMeal, Menu

FRESH_FOR = 5.0  # seconds another process's change may take to show

_kept = Kept(FRESH_FOR, Canteen, CanteenMeal, Menu)
cached = _kept.get
clear = _kept.clear
