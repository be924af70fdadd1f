"""The design system's server side: initials and avatars (escaped), Django's error pages on the
shared base in the reader's language, the 500 page for people and JSON for machines, and the
staff-only style guide."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import path
from django.utils import timezone, translation

from accounts.models import Role
from config import urls as root_urls
from conversations.templatetags.ui import avatar_tone, initials
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name,expected", [
    ("Carla Castro", "CC"), ("ana", "A"), ("Maria da Silva Souza", "MS"), ("Zoë Ñúñez", "ZÑ"),
    ("+55 11 98765-4321", ""), ("#1a2b3c4d", ""), ("", ""), ("  ", ""),
])
def test_initials_are_the_first_letters_of_the_first_and_last_names(name, expected):
    assert initials(name) == expected


def test_an_avatar_escapes_what_the_contact_typed_and_keeps_a_colour_per_name():
    html = Template('{% load ui %}{% avatar name picture %}').render(Context({
        "name": "<script>alert(1)</script> <b>x", "picture": "javascript:alert(1)"}))

    assert "<script>" not in html and "<b>" not in html and ">SX<" in html
    assert "<img" not in html  # only a web address is drawn
    assert avatar_tone("Carla Castro") == avatar_tone("Carla Castro") < 8


@pytest.mark.parametrize("language", ["pt-br", "en"])
@pytest.mark.parametrize("format_name", ["Y-m-d", "DATE_FORMAT"])
def test_a_day_reads_as_the_date_filter_writes_it_in_the_readers_language_and_time_zone(language, format_name):
    template = Template("{% load ui %}{{ moment|day:format_name }}|{{ moment|date:format_name }}")
    # 02:30 UTC on 1 March is still 28 February in São Paulo.
    for moment in (datetime(2026, 3, 1, 2, 30, tzinfo=UTC), datetime(2026, 3, 1, 15, 0, tzinfo=UTC)):
        with translation.override(language), timezone.override("America/Sao_Paulo"):
            day, written = template.render(Context({"moment": moment, "format_name": format_name})).split("|")

        assert day == written


def test_an_avatar_draws_the_contacts_picture_over_the_initials():
    html = Template('{% load ui %}{% avatar name picture %}').render(Context({
        "name": "Carla Castro", "picture": 'https://cdn.example.com/p.jpg?a=1&b=2"><script>'}))

    assert ">CC<img" in html and 'src="https://cdn.example.com/p.jpg?a=1&amp;b=2&quot;&gt;&lt;script&gt;"' in html
    assert 'referrerpolicy="no-referrer"' in html and 'alt=""' in html


@pytest.mark.parametrize("language,heading", [("pt-br", "Página não encontrada"), ("en", "Page not found")])
def test_a_page_not_found_is_the_products_page_in_the_readers_language(client, language, heading):
    client.cookies["django_language"] = language

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    body = response.content.decode()
    assert heading in body and "ui/ui.css" in body and 'href="/inbox/"' in body


def _broken(request):
    raise RuntimeError("boom")


@pytest.fixture
def broken_page(settings):
    urlconf = type("urlconf", (), {"urlpatterns": [path("inbox/broken/", _broken), path("api/v1/broken/", _broken)],
                                   "handler500": root_urls.handler500})
    settings.ROOT_URLCONF = urlconf
    return Client(raise_request_exception=False)


def test_a_server_error_is_a_page_for_people_and_json_for_machines(broken_page):
    page = broken_page.get("/inbox/broken/", HTTP_ACCEPT="text/html")
    api = broken_page.get("/api/v1/broken/", HTTP_ACCEPT="text/html")
    fragment = broken_page.get("/inbox/broken/", HTTP_ACCEPT="text/html", HTTP_HX_REQUEST="true")

    assert page.status_code == 500 and "Algo deu errado do nosso lado" in page.content.decode()
    assert api.status_code == 500 and api.json()["error"]["code"] == "server_error"
    assert fragment.status_code == 500 and fragment.json()["error"]["code"] == "server_error"


def test_the_style_guide_is_for_staff_only(acme, member):
    staff, agent = member(acme, Role.TENANT_ADMIN, is_staff=True), member(acme, Role.TENANT_ADMIN)
    anonymous = Client().get("/styleguide/")
    as_agent, as_staff = Client(), Client()
    as_agent.post("/login/", {"email": agent.user.email, "password": PASSWORD})
    as_staff.post("/login/", {"email": staff.user.email, "password": PASSWORD})

    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert as_agent.get("/styleguide/").status_code == 403
    page = as_staff.get("/styleguide/")
    assert page.status_code == 200
    body = page.content.decode()
    for component in ("--ui-accent", 'class="avatar', 'class="channel-icon"', 'class="tabs"', 'class="toast',
                      'class="empty-state"', 'class="spinner"', 'class="relative"', "<select"):
        assert component in body, component


def test_a_channel_option_does_not_repeat_a_kind_its_name_already_says():
    from types import SimpleNamespace

    from channels_app.kinds import kind_of
    from conversations.templatetags.inbox import channel_option

    badge = kind_of("api").badge
    named_after = SimpleNamespace(kind="api", name=f"{badge} de integração")
    named_otherwise = SimpleNamespace(kind="api", name="Loja online")

    assert channel_option(named_after) == f"{badge} de integração"
    assert channel_option(named_otherwise) == f"{badge} Loja online"
