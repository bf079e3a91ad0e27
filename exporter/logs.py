"""Logging setup: structlog for our lines; stdlib loggers (aiohttp, asyncio) go through it.

Lines look like Prometheus's own (promslog): ``time``, ``level``, ``source`` and ``msg`` first,
then the line's fields, as logfmt (the default, as in Prometheus) or JSON::

    time=2026-11-27T23:10:05.123Z level=INFO source=engine.py:142 msg="status changed" ...
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.typing import Processor

from .redact import LOGS

LEVELS = ("debug", "info", "warn", "warning", "error")
FORMATS = ("logfmt", "json")
FIRST = ("time", "level", "source", "msg")


def _promslog(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> dict[str, Any]:
    """Our event as promslog names and orders its fields."""
    now = dt.datetime.now(dt.UTC)
    level = str(event.pop("level", "info")).upper()
    filename, lineno = event.pop("filename", None), event.pop("lineno", None)
    line: dict[str, Any] = {
        "time": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "level": "WARN" if level == "WARNING" else level,
        "source": f"{filename}:{lineno}" if filename else "",
        "msg": event.pop("event", ""),
    }
    line.update(event)
    return line


def _logfmt_value(value: Any) -> str:
    """A value as slog's text handler writes it: bare, or quoted when it must be."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if text and text.isprintable() and not any(c in text for c in ' "='):
        return text
    return json.dumps(text, ensure_ascii=False)


def _logfmt(_logger: Any, _method: str, line: MutableMapping[str, Any]) -> str:
    return " ".join(f"{key}={_logfmt_value(value)}" for key, value in line.items())


def _json(_logger: Any, _method: str, line: MutableMapping[str, Any]) -> str:
    return json.dumps(line, ensure_ascii=False, default=str)


def setup(level: str = "info", fmt: str = "logfmt") -> None:
    """Lines on stderr in ``fmt`` (logfmt or json), at ``level`` and above."""
    numeric = logging.getLevelName("WARNING" if level.lower() == "warn" else level.upper())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.CallsiteParameterAdder(
            [
                structlog.processors.CallsiteParameter.FILENAME,
                structlog.processors.CallsiteParameter.LINENO,
            ]
        ),
    ]
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
                _promslog,
                _json if fmt == "json" else _logfmt,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # aiohttp logs every request.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
