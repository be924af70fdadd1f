"""Admins told when a channel stops working: since when it is disconnected (or in error) on its
settings page and in the channels list, and a banner above the inbox for tenant admins and
managers while any of their channels is DISCONNECTED or ERROR, with a link to the channel
(redrawn live: tests/e2e/test_channel_alerts.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from accounts.models import Role
from channels_app.models import Channel
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

SINCE = dt.datetime(2026, 3, 2, 13, 5, tzinfo=dt.UTC)  # 10:05 in São Paulo, the tenant's time zone


def _login(membership) -> Client:
    client = Client()
    assert client.post("/login/", {"email": membership.user.email, "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def channels(acme):
    return {
        "down": factories.ChannelFactory(tenant=acme, kind="whatsapp_evolution", name="WhatsApp Celular",
                                         status=Channel.Status.DISCONNECTED, status_changed_at=SINCE,
                                         status_detail="Logged out on the phone: pair the number again."),
        "broken": factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud", name="WhatsApp Vendas",
                                           status=Channel.Status.ERROR, status_changed_at=SINCE + dt.timedelta(hours=1)),
        "fine": factories.ChannelFactory(tenant=acme, kind="api", name="Loja (API)", status=Channel.Status.CONNECTED,
                                         status_changed_at=SINCE),
    }


def _banners(page: str) -> str:
    start = page.index('<div id="banners"')
    return page[start:page.index('class="panes"', start)]


@pytest.mark.parametrize("role", [Role.TENANT_ADMIN, Role.MANAGER])
def test_admins_and_managers_see_a_banner_per_channel_down(acme, member, channels, role):
    page = _login(member(acme, role)).get("/inbox/").content.decode()

    banners = _banners(page)
    assert banners.count('class="banner"') == 2
    assert "O canal WhatsApp Celular está desconectado" in banners
    assert "O canal WhatsApp Vendas está com erro" in banners
    assert "Loja (API)" not in banners
    assert f'href="/settings/channels/{channels["down"].public_id}/"' in banners
    assert f'datetime="{SINCE.isoformat()}"' in banners and "desde 02/03/2026 10:05" in banners
    assert "Logged out on the phone" in banners


def test_agents_see_no_banner(acme, member, channels):
    agent = _login(member(acme, Role.AGENT, channels=(channels["down"],)))

    assert 'class="banner"' not in _banners(agent.get("/inbox/").content.decode())
    assert agent.get("/inbox/banners/").content.decode().strip() == ""


def test_the_banners_alone_for_the_page_to_redraw(acme, member, channels, globex):
    factories.ChannelFactory(tenant=globex, name="Globex down", status=Channel.Status.ERROR)
    admin = _login(member(acme, Role.TENANT_ADMIN))

    fragment = admin.get("/inbox/banners/").content.decode()

    assert fragment.count('class="banner"') == 2 and "Globex down" not in fragment
    Channel.all_objects.filter(pk__in=[channels["down"].pk, channels["broken"].pk]).update(
        status=Channel.Status.CONNECTED)
    assert admin.get("/inbox/banners/").content.decode().strip() == ""


def test_the_settings_say_since_when(acme, member, channels):
    admin = _login(member(acme, Role.TENANT_ADMIN))

    detail = admin.get(f"/settings/channels/{channels['down'].public_id}/").content.decode()
    listed = admin.get("/settings/channels/").content.decode()

    assert f'datetime="{SINCE.isoformat()}"' in detail and "desde 02/03/2026 10:05" in detail
    assert "desde 02/03/2026 10:05" in listed and "desde 02/03/2026 11:05" in listed
    admin.post("/account/language", {"language": "en", "next": "/inbox/"})
    english = admin.get("/inbox/").content.decode()
    assert "The channel WhatsApp Celular is disconnected" in english
    assert "since 03/02/2026 10:05" in _banners(english)
