"""The dialogue layer across features: emergencies first, small talk, role-aware questions,
follow-ups about what was just shown, complaints and praise in plain words."""
