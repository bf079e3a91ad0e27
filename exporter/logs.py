"""Logging setup: structlog for our lines; stdlib loggers (APScheduler, aiohttp) go through it."""

from __future__ import annotations

import logging
import sys

import structlog

from .redact import LOGS

LEVELS = ("debug", "info", "warn", "warning", "error")


def setup(level: str = "info", fmt: str = "json") -> None:
    """JSON lines (or a console rendering) on stderr, at ``level`` and above."""
    numeric = logging.getLevelName("WARNING" if level.lower() == "warn" else level.upper())
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                LOGS,  # every credential of the running checklist masked, tracebacks included
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # APScheduler logs every run at INFO; aiohttp logs every request.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
