"""Moved to `community.geo` (places use it too); this name stays for existing imports.

The alias is the very same module object, so patching either name patches both."""

import sys

from community import geo as _geo

sys.modules[__name__] = _geo
