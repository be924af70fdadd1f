"""Concurrent callers for the tests that prove a unique constraint, not a check, decides."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.db import connection


def concurrent_writers(test: Callable[..., Any]) -> Callable[..., Any]:
    """A test of writers racing in transactions of their own: real transactions, and
    PostgreSQL (SQLite serialises the test database, so there is no race to prove there).
    CI runs these: `.ci/run` sets DATABASE_URL."""
    on_postgresql = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    skip = pytest.mark.skipif(not on_postgresql, reason="concurrent writers need PostgreSQL (SQLite serialises "
                                                        "the test database)")
    return pytest.mark.django_db(transaction=True)(skip(test))


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in a thread of its own, all released together; their results in order.
    The first error raised in a thread is raised here. Each thread closes its connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    return results


def wait_for(condition: Callable[[], Any], seconds: float = 10.0) -> bool:
    """Whether `condition()` came true within `seconds` (work another thread does)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())
