"""The community itself: people and the roles it grants them, phones, buildings and the areas
that cover them, and the community's clock.

Every domain (directory, canteen, delivery, grid, places, groups) asks these questions the same
way, so the answers live here once: who is an admin, which grid worker covers building 3,
whether "138 1234 5678" is a phone number, what time it is in the community.
"""
