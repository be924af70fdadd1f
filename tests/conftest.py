from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.access import TenantAccess
from accounts.models import Role
from accounts.services import tokens_issue
from channels_app.services import channel_access_grant
from tenants.events import DomainEvent
from tests import factories


def pytest_report_header(config: Any) -> list[str]:
    import django

    django.setup()
    db = settings.DATABASES["default"]
    return [
        f"inbox: database {db['ENGINE'].rsplit('.', 1)[-1]} ({db.get('HOST') or db.get('NAME')})",
        f"inbox: channel layer {settings.CHANNEL_LAYERS['default']['BACKEND']}",
        f"inbox: cache {settings.CACHES['default']['BACKEND']}",
        f"inbox: celery broker {settings.CELERY_BROKER_URL.split('@')[-1]}",
    ]


@pytest.fixture(scope="session", autouse=True)
def _no_connections_left_behind(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """At the end of the run, before the test database is dropped: end the sessions that
    threads of the suite still hold (executor threads of async code, and the connections
    they took from the pool and never gave back, which closing the pool leaves open). The
    drop failed now and then without it ("being accessed by other users")."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    from integrations import channel_cache

    cache.clear()
    channel_cache.forget()  # ids come back after a rolled-back test (SQLite)
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _no_tenant_leaks() -> Iterator[None]:
    """Each test starts and ends with no tenant current, as each request does."""
    from tenants.scoping import tenant_context

    with tenant_context(None):
        yield


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def events(settings: Any) -> list[DomainEvent]:
    """The domain events dispatched during the test (they dispatch on commit: use
    django_capture_on_commit_callbacks(execute=True), or a transactional test)."""
    captured: list[DomainEvent] = []
    settings.DOMAIN_EVENT_LISTENERS = [*settings.DOMAIN_EVENT_LISTENERS, "tests.conftest.capture_event"]
    _captured_events.append(captured)
    yield captured
    _captured_events.remove(captured)


_captured_events: list[list[DomainEvent]] = []


def capture_event(event: DomainEvent) -> None:
    for captured in _captured_events:
        captured.append(event)


@pytest.fixture
def acme(db: None) -> Any:
    return factories.TenantFactory(name="Acme", slug="acme")


@pytest.fixture
def globex(db: None) -> Any:
    return factories.TenantFactory(name="Globex", slug="globex")


@pytest.fixture
def member(db: None) -> Callable[..., Any]:
    """member(tenant, role, channels=[...]) → a Membership (with the channels given to it)."""

    def make(tenant: Any, role: str = Role.AGENT, channels: tuple[Any, ...] = (), **user_fields: Any) -> Any:
        membership = factories.MembershipFactory(tenant=tenant, role=role, user=factories.UserFactory(**user_fields))
        for channel in channels:
            channel_access_grant(channel=channel, user=membership.user)
        return membership

    return make


@pytest.fixture
def api() -> Callable[..., APIClient]:
    """api(membership) → an APIClient authenticated with that member's access JWT;
    api() → an anonymous one."""

    def make(membership: Any = None) -> APIClient:
        client = APIClient()
        if membership is not None:
            tokens = tokens_issue(access=TenantAccess(user=membership.user, tenant=membership.tenant,
                                                      role=membership.role))
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
            client.tokens = tokens  # type: ignore[attr-defined]
        return client

    return make


@pytest.fixture
def embedded_scheduler(monkeypatch: Any) -> Iterator[Any]:
    """The embedded default's scheduler (config.embedded), running for this test only."""
    from config import embedded

    running = embedded.Scheduler()
    running.start()
    monkeypatch.setattr(embedded, "scheduler", running)
    yield running
    running.stop()
