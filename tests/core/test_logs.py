"""Log lines as JSON objects (LOG_FORMAT=json), with the request id, tenant, channel and
message they are about, and personal data and credentials masked (config.logs)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from config.logs import REQUEST_ID_HEADER, log_context, mask_personal_data
from tenants.scoping import tenant_context
from tests.log_capture import json_log_lines

logger = logging.getLogger("tests.logs")

CSP_REPORT = {"csp-report": {"document-uri": "http://127.0.0.1:8000/inbox/", "violated-directive": "script-src",
                             "effective-directive": "script-src", "blocked-uri": "inline"}}


def test_a_request_gets_an_id_that_its_log_lines_carry_and_its_response_echoes(client: Client) -> None:
    with json_log_lines() as lines:
        response = client.post("/csp-report/", json.dumps(CSP_REPORT), content_type="application/csp-report",
                               HTTP_X_REQUEST_ID="req-4f2a-01")

    assert response[REQUEST_ID_HEADER] == "req-4f2a-01"
    violation = next(line for line in lines() if line["message"].startswith("CSP violation"))
    assert violation["request_id"] == "req-4f2a-01"
    assert violation["level"] == "WARNING" and violation["logger"] == "config.security"
    assert violation["time"].endswith("Z")
    assert {"tenant_id", "channel_id", "message_id"} <= set(violation)


def test_a_request_without_a_sane_id_gets_a_new_one(client: Client) -> None:
    given = client.get("/api/health", HTTP_X_REQUEST_ID="not sane\n{evil}")[REQUEST_ID_HEADER]
    fresh = client.get("/api/health")[REQUEST_ID_HEADER]

    assert given != "not sane\n{evil}" and len(given) == 32
    assert len(fresh) == 32 and fresh != given


@pytest.mark.django_db(transaction=True)  # the event is logged once the request's transaction commits
def test_an_api_requests_lines_carry_its_tenant(acme: Any, member: Any, api: Any) -> None:
    client = api(member(acme, Role.TENANT_ADMIN))

    with json_log_lines() as lines:
        response = client.post("/api/v1/labels", {"name": "vip", "color": "#aa0000"}, format="json",
                               HTTP_X_REQUEST_ID="req-labels")

    assert response.status_code == 201, response.content
    event = next(line for line in lines() if line["message"].startswith("event label.created"))
    assert event["tenant_id"] == acme.pk and event["request_id"] == "req-labels"


@pytest.mark.django_db
def test_djangos_own_line_of_a_refused_request_carries_its_id(acme: Any, member: Any, api: Any) -> None:
    client = api(member(acme, Role.AGENT))

    with json_log_lines() as lines:
        response = client.post("/api/v1/labels", {"name": "vip"}, format="json", HTTP_X_REQUEST_ID="req-refused")

    assert response.status_code == 403
    refused = next(line for line in lines() if line["logger"] == "django.request")
    assert refused["request_id"] == "req-refused"


@pytest.mark.django_db
def test_the_current_tenant_and_the_context_reach_every_line(acme: Any) -> None:
    with json_log_lines() as lines:
        with tenant_context(acme):
            logger.info("inside the tenant")
            with log_context(channel_id=7, message_id=42):
                logger.info("about one message")
        logger.info("outside")

    inside, message, outside = lines()
    assert inside["tenant_id"] == acme.pk and inside["message_id"] is None
    assert (message["tenant_id"], message["channel_id"], message["message_id"]) == (acme.pk, 7, 42)
    assert outside["tenant_id"] is None and outside["channel_id"] is None


def test_phones_and_emails_are_masked_in_messages_arguments_and_tracebacks() -> None:
    with json_log_lines() as lines:
        logger.warning("contact +55 11 98765-4321 wrote from joana.silva@example.com")
        logger.warning("contact %s (%s) and %s", "+5511987654321", "5511912345678", "jo@exemplo.com.br")
        try:
            raise ValueError("no contact for +5521998877665")
        except ValueError:
            logger.exception("lookup failed")

    first, second, third = lines()
    assert first["message"] == "contact +5511*** wrote from jo***@…"
    assert second["message"] == "contact +5511*** (5511***) and jo***@…"
    assert "+5521***" in third["exc_info"] and "998877665" not in third["exc_info"]


def test_credentials_in_a_logged_url_or_header_are_masked() -> None:
    masked = mask_personal_data("Unauthorized: /webhooks/some_kind/s3cr3t-T0ken?hub.verify_token=abc "
                                "Authorization: Bearer eyJhbGciOi.x.y")

    assert "s3cr3t" not in masked and "abc" not in masked and "eyJ" not in masked
    assert masked == "Unauthorized: /webhooks/some_kind/***?hub.verify_token=*** Authorization: Bearer ***"


def test_what_is_not_personal_data_is_left_alone() -> None:
    text = "message 123 of channel 4 at 2026-12-05 17:30:00, 1733420000, port 8000, id 0190c0de-1234-7abc-8def-01234567"

    assert mask_personal_data(text) == text


def test_the_console_format_carries_the_request_id(client: Client, capsys: Any) -> None:
    from django.conf import settings

    assert settings.LOGGING["handlers"]["console"]["formatter"] == "console"  # the tests' and `make run`'s
    assert "%(request_id)s" in settings.LOGGING["formatters"]["console"]["format"]
