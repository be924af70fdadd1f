from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.django_db


def _limits(response) -> tuple[int, int, int]:
    return (int(response["X-RateLimit-Limit"]), int(response["X-RateLimit-Remaining"]),
            int(response["X-RateLimit-Reset"]))


def test_every_response_carries_the_rate_limit_headers(world, api):
    client = api(world.acme.agent)

    responses = [
        client.get("/api/v1/conversations"),
        client.get("/api/v1/conversations/0190e0e5-8a1c-7b2d-9c3e-4f5a6b7c8d9e"),  # an error (nobody's id)
        client.post("/api/v1/contacts", {"name": ["x"]}, format="json"),  # a validation error
        api().get("/api/v1/conversations"),  # unauthenticated
        api().post("/api/v1/auth/token", {"email": "x@y.test", "password": "no"}, format="json"),
    ]

    for response in responses:
        limit, remaining, reset = _limits(response)
        assert limit > 0 and 0 <= remaining < limit
        assert time.time() < reset <= time.time() + 61


def test_defaults_are_100_a_minute_and_300_on_message_endpoints(world, api):
    client = api(world.acme.agent)

    assert _limits(client.get("/api/v1/conversations"))[0] == 100
    assert _limits(client.get(f"/api/v1/conversations/{world.acme.conversation.public_id}/messages"))[0] == 300
    assert _limits(client.get(f"/api/v1/messages/{world.acme.note.public_id}"))[0] == 300


def test_over_the_limit_is_429_with_retry_after(world, api, settings):
    settings.API_RATE_LIMIT_DEFAULT = 3
    client = api(world.acme.agent)

    statuses = [client.get("/api/v1/conversations").status_code for _ in range(3)]
    refused = client.get("/api/v1/conversations")

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert _limits(refused)[:2] == (3, 0)


def test_limits_are_per_member_and_per_scope(world, api, settings):
    settings.API_RATE_LIMIT_DEFAULT = 2
    settings.API_RATE_LIMIT_MESSAGES = 5
    agent = api(world.acme.agent)
    for _ in range(3):
        agent.get("/api/v1/contacts")

    assert agent.get("/api/v1/contacts").status_code == 429
    assert api(world.acme.manager).get("/api/v1/contacts").status_code == 200
    assert agent.get(f"/api/v1/conversations/{world.acme.conversation.public_id}/messages").status_code == 200


def test_health_is_never_rate_limited(db, api, settings):
    settings.API_RATE_LIMIT_DEFAULT = 1
    client = api()

    assert [client.get("/api/health").status_code for _ in range(3)] == [200, 200, 200]


def test_anonymous_calls_are_limited_per_client_address(db, api, settings):
    settings.API_RATE_LIMIT_ANONYMOUS = 5
    client = api()
    garbage = api()
    garbage.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")

    statuses = [client.get("/api/v1/conversations").status_code for _ in range(3)]
    statuses += [garbage.get("/api/v1/contacts").status_code for _ in range(2)]  # a bad token is anonymous too
    refused = client.get("/api/v1/channels")
    other_address = api().get("/api/v1/conversations", REMOTE_ADDR="192.0.2.44")

    assert statuses == [401] * 5
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert _limits(refused)[:2] == (5, 0)
    assert other_address.status_code == 401


def test_anonymous_limit_counts_the_forwarded_client_only_behind_a_trusted_proxy(db, api, settings):
    settings.API_RATE_LIMIT_ANONYMOUS = 2
    settings.TRUSTED_PROXIES = ["10.0.0.1"]

    spoofing = [api().get("/api/v1/conversations", REMOTE_ADDR="198.51.100.1",
                          HTTP_X_FORWARDED_FOR=f"203.0.113.{index}").status_code for index in range(3)]
    proxied = [api().get("/api/v1/conversations", REMOTE_ADDR="10.0.0.1",
                         HTTP_X_FORWARDED_FOR=f"203.0.113.{index}").status_code for index in range(3)]

    assert spoofing == [401, 401, 429]
    assert proxied == [401, 401, 401]
