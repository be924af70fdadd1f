"""A real Celery worker on the real broker (the production shape, as in CI).

The rest of the suite runs tasks eagerly in the test process; this test proves that a task
sent with .delay() really travels through Redis to a worker and its result comes back."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery
from celery.contrib.testing.worker import TestWorkController, start_worker
from celery.result import EagerResult
from django.conf import settings

from config import tasks
from config.celery_app import app as celery_app

STARTUP_TIMEOUT_SECONDS = 30
RESULT_TIMEOUT_SECONDS = 30


class BoundedTestWorkController(TestWorkController):
    """Celery's test worker waits for its consumer without a time limit; this one gives up."""

    def ensure_started(self) -> None:
        if not self._on_started.wait(timeout=STARTUP_TIMEOUT_SECONDS):
            raise RuntimeError(f"the Celery worker did not start within {STARTUP_TIMEOUT_SECONDS} s")


def _forget_result_backend(app: Celery) -> None:
    # Celery caches the backend object on first use (per thread unless it is thread-safe).
    app._backend_cache = None
    vars(app._local).pop("backend", None)


@pytest.fixture
def celery_on_broker() -> Iterator[Celery]:
    """The project's Celery app sending to the broker for real, with results in the same Redis."""
    broker_url = settings.CELERY_BROKER_URL
    if not broker_url.startswith(("redis://", "rediss://")):
        pytest.skip(f"no Redis broker (CELERY_BROKER_URL={broker_url}): the embedded default runs tasks eagerly; "
                    "set REDIS_URL to run a real worker")
    client = redis.Redis.from_url(broker_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"the Redis broker at {broker_url} does not answer: {exc}")
    finally:
        client.close()

    # The app reads the CELERY_* Django settings (namespace "CELERY"); those names win over the
    # plain ones, so the overrides use them too.
    overrides = {
        "CELERY_TASK_ALWAYS_EAGER": False,
        "CELERY_RESULT_BACKEND": broker_url,
        "CELERY_RESULT_EXPIRES": 300,
        "CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP": False,
        "CELERY_BROKER_CONNECTION_TIMEOUT": 5,
        "CELERY_BROKER_CONNECTION_MAX_RETRIES": 2,
        "CELERY_WORKER_HIJACK_ROOT_LOGGER": False,
    }
    celery_app.conf.finalize()  # until the first read, `changes` is a placeholder that the read replaces
    changes = celery_app.conf.changes
    saved = {key: changes[key] for key in overrides if key in changes}
    changes.update(overrides)
    _forget_result_backend(celery_app)
    try:
        assert celery_app.conf.task_always_eager is False
        assert celery_app.conf.result_backend == broker_url
        yield celery_app
    finally:
        for key in overrides:
            changes.pop(key, None)
        changes.update(saved)
        _forget_result_backend(celery_app)


def test_a_worker_on_the_broker_runs_a_task_sent_with_delay(celery_on_broker: Celery) -> None:
    with start_worker(
        celery_on_broker,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=15,
        WorkController=BoundedTestWorkController,
    ):
        result = tasks.ping.delay()

        assert not isinstance(result, EagerResult)
        assert result.get(timeout=RESULT_TIMEOUT_SECONDS) == "pong"
        assert result.successful()
        result.forget()


def test_ping_runs_eagerly_in_the_embedded_default(settings: Any) -> None:
    if settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("a Redis broker is configured: tasks go to a worker (the test above)")
    assert settings.CELERY_TASK_ALWAYS_EAGER
    assert tasks.ping.delay().get(timeout=1) == "pong"


def test_webhooks_have_their_own_queue_which_a_plain_worker_takes_too() -> None:
    from config.celery_app import app

    route = app.amqp.router.route({}, "integrations.tasks.webhook_events_process")
    assert route["queue"].name == "webhooks"
    assert app.amqp.router.route({}, "integrations.tasks.message_deliver")["queue"].name == "celery"
    assert {"celery", "webhooks"} <= set(app.amqp.queues)  # what `celery -A config worker` consumes
