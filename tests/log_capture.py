"""The log lines a test caused, as LOG_FORMAT=json writes them (config.logs), parsed back."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from config.logs import LogContextFilter, MaskingFilter, json_formatter


@contextmanager
def json_log_lines(level: int = logging.DEBUG) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Within the block every record reaching the root logger is written as production writes
    it; call the yielded function for the lines so far, each parsed with json.loads."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(LogContextFilter())
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
