"""Every page carries a Content-Security-Policy that allows no inline script or style, and the
browser's violation reports reach an endpoint of ours that logs them. (The browser's side,
every page working under the policy with no violation, is tests/e2e/test_content_security_policy.py.)"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

REPORT = {
    "csp-report": {
        "document-uri": "https://inbox.example.com/inbox/", "referrer": "",
        "violated-directive": "script-src-elem", "effective-directive": "script-src-elem",
        "original-policy": "default-src 'self'; report-uri /csp-report/", "disposition": "enforce",
        "blocked-uri": "https://evil.example/x.js", "status-code": 200, "script-sample": "",
        "source-file": "https://inbox.example.com/inbox/", "line-number": 12, "column-number": 3,
    }
}


def policy_of(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = [part.strip().split() for part in header.split(";") if part.strip()]
    return {name: values for name, *values in directives}


@pytest.fixture
def pages(acme, member) -> tuple[Client, list[str]]:
    """A platform superuser who is also a tenant admin, logged in; the paths of the pages they reach."""
    channel = factories.ChannelFactory(tenant=acme, kind="api", name="Loja (API)")
    admin = member(acme, Role.TENANT_ADMIN, is_staff=True, is_superuser=True)
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    factories.MessageFactory(conversation=conversation, content="Oi")
    label = factories.LabelFactory(tenant=acme)
    team = factories.TeamFactory(tenant=acme)
    canned = factories.CannedResponseFactory(tenant=acme)
    from webhooks.services import webhook_endpoint_register, webhook_test_send

    endpoint, _ = webhook_endpoint_register(tenant=acme, actor=None, url="https://hooks.example.com/in",
                                            events=["message.received"])
    webhook_test_send(endpoint=endpoint)
    from accounts.notices import notice_send
    from integrations.monitoring.alert_rules import alert_rule_list

    rule = alert_rule_list(tenant=acme).first()
    notice_send(tenant=acme, user=admin.user, title="Channel down", body="It is", url="/settings/alerts/")
    client = Client()
    assert client.post("/login/", {"email": admin.user.email, "password": PASSWORD}).status_code == 302
    return client, [
        "/inbox/", f"/inbox/c/{conversation.public_id}/", f"/inbox/contacts/{conversation.contact.public_id}/",
        "/settings/channels/", f"/settings/channels/{channel.public_id}/", "/settings/channels/new/api/",
        "/settings/teams/", f"/settings/teams/{team.public_id}/", "/settings/labels/", "/settings/canned-responses/",
        "/settings/canned-responses/new/", f"/settings/canned-responses/{canned.public_id}/",
        "/settings/webhooks/", f"/settings/webhooks/{endpoint.public_id}/", "/settings/health/",
        "/settings/alerts/", f"/settings/alerts/{rule.public_id}/", "/notifications/",
        "/reports/",
        "/admin/", "/admin/conversations/label/", f"/admin/conversations/label/{label.pk}/change/",
        "/api/docs/",
    ]


def test_every_page_carries_a_policy_without_inline_script_or_style(pages):
    client, paths = pages
    responses = {"/login/": Client().get("/login/"), "/admin/login/": Client().get("/admin/login/")}
    responses.update({path: client.get(path) for path in paths})

    for path, response in responses.items():
        assert response.status_code == 200, path
        policy = policy_of(response)
        assert policy["default-src"] == ["'self'"], path
        assert policy["script-src"] == ["'self'"], path
        assert policy["style-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["base-uri"] == ["'self'"], path
        assert policy["form-action"] == ["'self'"], path
        assert sorted(policy["connect-src"]) == ["'self'", "ws://testserver"], path
        assert policy["report-uri"] == ["/csp-report/"], path
        assert "unsafe" not in response["Content-Security-Policy"], path


def test_the_socket_origin_follows_the_scheme_and_host_of_the_page(db, settings):
    settings.ALLOWED_HOSTS = ["inbox.example.com"]

    response = Client().get("/login/", HTTP_HOST="inbox.example.com", secure=True)

    assert sorted(policy_of(response)["connect-src"]) == ["'self'", "wss://inbox.example.com"]


def test_the_policy_can_be_sent_as_report_only(db, settings):
    """CSP_REPORT_ONLY=true: the same policy, reported but not enforced (to try a change)."""
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY, settings.CONTENT_SECURITY_POLICY = (
        settings.CONTENT_SECURITY_POLICY, None)

    response = Client().get("/login/")

    assert "Content-Security-Policy" not in response
    policy = response["Content-Security-Policy-Report-Only"]
    assert "script-src 'self'" in policy and "connect-src 'self' ws://testserver" in policy


_INLINE = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    "an inline style element": re.compile(r"<style\b", re.I),
    "a style attribute": re.compile(r"<[a-z][^>]*\sstyle=", re.I),
    "an event handler attribute": re.compile(r"<[a-z][^>]*\son[a-z]+=", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}


def test_pages_hold_nothing_inline_that_the_policy_would_block(pages):
    """What the browser test proves page by page, checked on the markup of each."""
    client, paths = pages
    htmls = {"/login/": Client().get("/login/").content.decode()}
    htmls.update({path: client.get(path).content.decode() for path in paths})

    found = {(path, what) for path, html in htmls.items() for what, pattern in _INLINE.items() if pattern.search(html)}

    assert found == set()


def test_the_api_docs_script_is_a_file_of_its_own(pages):
    client, _paths = pages
    page = client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="(/api/docs/\?[^"]*script[^"]*)"', page)

    assert script_url is not None, page
    script = client.get(script_url.group(1).replace("&amp;", "&"))
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle" in script.content


def _report(client: Client, body: bytes | str, content_type: str = "application/csp-report") -> Any:
    return client.post("/csp-report/", body, content_type=content_type)


def test_a_violation_report_is_logged(db, caplog):
    client = Client(enforce_csrf_checks=True)  # a browser sends no CSRF token with a report

    with caplog.at_level(logging.WARNING, logger="config.security"):
        response = _report(client, json.dumps(REPORT))

    assert response.status_code == 204
    (record,) = [r for r in caplog.records if r.name == "config.security"]
    message = record.getMessage()
    assert "script-src-elem" in message and "https://evil.example/x.js" in message
    assert "https://inbox.example.com/inbox/" in message


def test_reports_of_the_reporting_api_are_logged_too(db, caplog):
    body = [{"type": "csp-violation", "age": 10, "url": "https://inbox.example.com/settings/channels/",
             "user_agent": "Chromium", "body": {
                 "documentURL": "https://inbox.example.com/settings/channels/", "disposition": "enforce",
                 "effectiveDirective": "style-src-attr", "blockedURL": "inline", "sourceFile": "", "lineNumber": 4,
                 "originalPolicy": "default-src 'self'", "statusCode": 200}},
            {"type": "deprecation", "body": {"id": "x"}}]

    with caplog.at_level(logging.WARNING, logger="config.security"):
        response = _report(Client(enforce_csrf_checks=True), json.dumps(body), "application/reports+json")

    assert response.status_code == 204
    messages = [r.getMessage() for r in caplog.records if r.name == "config.security"]
    assert len(messages) == 1 and "style-src-attr" in messages[0] and "/settings/channels/" in messages[0]


@pytest.mark.parametrize("body,content_type,status", [
    ("{not json", "application/csp-report", 400),
    ('"a string"', "application/csp-report", 400),
    ('{"csp-report": ["not", "an", "object"]}', "application/csp-report", 400),
    ("[" * 50_000 + "]" * 50_000, "application/csp-report", 413),
    ("[" * 20_000 + "]" * 20_000, "application/json", 400),  # deeper than any report: refused, no recursion error
    (json.dumps(REPORT), "text/plain", 415),
    (json.dumps({"csp-report": {"blocked-uri": "x" * 70_000}}), "application/csp-report", 413),
    (b"\xff\xfe\x00", "application/csp-report", 400),
], ids=["malformed", "not an object", "report not an object", "too large", "too deep", "wrong type",
        "too large by a field", "not utf-8"])
def test_a_bad_report_is_a_clear_4xx_never_an_error(db, caplog, body, content_type, status):
    client = Client(enforce_csrf_checks=True, raise_request_exception=True)

    response = _report(client, body, content_type)

    assert response.status_code == status
    assert response.json()["error"]["code"]


def test_the_report_endpoint_takes_only_posts(db):
    assert Client().get("/csp-report/").status_code == 405
