"""How a count is said in the lines a person reads: "1 gap", "3 gaps" (core: no I/O)."""

from __future__ import annotations

__all__ = ["plural"]


def plural(n: int, one: str, many: str | None = None) -> str:
    """``n`` and the word for ``n`` of them: ``one`` for 1, else ``many`` (by default ``one + "s"``).

    Examples
    --------
    >>> plural(1, "beat"), plural(0, "beat"), plural(2, "time"), plural(3, "loss", "losses")
    ('1 beat', '0 beats', '2 times', '3 losses')
    """
    return f"{n} {one if n == 1 else (many or one + 's')}"
