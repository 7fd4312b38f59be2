"""Logging set-up shared by every process: one call to configure, `get_logger(__name__)` everywhere."""

from __future__ import annotations

import logging
import sys

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def get_logger(name: str) -> logging.Logger:
    """Return the module's logger; modules call this once at import time as `log = get_logger(__name__)`."""
    return logging.getLogger(name)


def configure_logging(level: str | int = "INFO") -> None:
    """Send records to stderr in one plain format. discord.py's own chatter is kept at WARNING."""
    root = logging.getLogger()
    if not any(getattr(h, "_meatlizard", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler._meatlizard = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("discord").setLevel(logging.WARNING)
    # Neither bot speaks in voice channels; discord.py's start-up warning about voice libraries is noise.
    logging.getLogger("discord.client").addFilter(
        lambda record: "voice will NOT be supported" not in record.getMessage()
    )
