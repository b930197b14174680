"""Moved to `community.hours` (places use it too); this name stays for existing imports.

The alias is the very same module object, so patching either name patches both."""

import sys

from community import hours as _hours

sys.modules[__name__] = _hours
