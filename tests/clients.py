"""Clients for the tests of server-rendered pages."""

from __future__ import annotations

from typing import Any

from django.test import Client

from accounts.authentication import SESSION_TENANT_KEY


def page(membership: Any) -> Client:
    """A browser-like client logged in as this member, in the member's tenant."""
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_TENANT_KEY] = membership.tenant_id
    session.save()
    return client
