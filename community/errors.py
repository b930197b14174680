"""One error type for every rule a domain enforces.

A service raises `DomainError(message, code=..., field=...)`; each transport renders it its own
way: the chat says `message`, the REST API answers 400/409 with `{"error": code, "field": field,
"message": message}`, the console shows `message` beside the field, the CLI prints it.
"""

from __future__ import annotations


class DomainError(ValueError):
    """A rule of the community said no. `message` is plain Chinese, fit to show a resident."""

    def __init__(self, message: str, *, code: str = "invalid", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field

    def to_dict(self) -> dict[str, str | None]:
        return {"error": self.code, "field": self.field, "message": self.message}
