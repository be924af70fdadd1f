"""Conversations found by what a contact is called (name, email, any digits of a phone) or by
the words of a message: the same search behind the inbox and `/api/v1/conversations?search=`.
On PostgreSQL words match in Portuguese, accents and case aside, as prefixes, through indexes."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.authentication import SESSION_TENANT_KEY
from accounts.models import Role
from conversations.models import Conversation
from conversations.search import words_query
from tests import factories

pytestmark = pytest.mark.django_db
postgresql = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's full-text search")


@pytest.fixture
def scene(acme, globex, member):
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    admin = member(acme, Role.TENANT_ADMIN)
    found = {}
    for name, phone, text in [
        ("João Pereira", "+5511987654321", "Bom dia"),
        ("Bruna Costa", "+5521912340000", "Segue o Bolêto do pedido, por favor"),
        ("Carlos Lima", "+5531955550000", "Quero trocar os BOLETOS vencidos"),
        ("Diana Reis", "+5541944440000", "A entrega chegou"),
    ]:
        contact = factories.ContactFactory(tenant=acme, name=name, phone=phone)
        conversation = factories.ConversationFactory(tenant=acme, channel=channel, contact=contact)
        factories.MessageFactory(conversation=conversation, content=text)
        found[name.split()[0]] = conversation
    theirs = factories.ConversationFactory(tenant=globex, channel=factories.ChannelFactory(tenant=globex))
    factories.MessageFactory(conversation=theirs, content="boleto da globex")
    client = Client()
    client.force_login(admin.user)
    session = client.session
    session[SESSION_TENANT_KEY] = acme.pk
    session.save()
    return {"client": client, "found": found, "api": admin}


def _inbox(scene, text: str) -> set[str]:
    html = scene["client"].get("/inbox/", {"tab": "all", "q": text}).content.decode()
    return {name for name, conversation in scene["found"].items() if f"conversation-{conversation.public_id}" in html}


def _api(scene, api, text: str) -> set[str]:
    ids = {row["id"] for row in api(scene["api"]).get("/api/v1/conversations", {"search": text}).json()["results"]}
    return {name for name, conversation in scene["found"].items() if str(conversation.public_id) in ids}


def test_contacts_are_found_by_name_without_accents_and_by_any_digits_of_their_phone(scene, api):
    assert _inbox(scene, "joao") == {"João"} == _api(scene, api, "JOÃO")
    assert _inbox(scene, "9876") == {"João"} == _api(scene, api, "98765-4321")


@postgresql
def test_words_are_found_in_portuguese_whatever_their_accents_case_and_ending(scene, api):
    assert _inbox(scene, "boleto") == {"Bruna", "Carlos"} == _api(scene, api, "boleto")
    assert _inbox(scene, "boletos pedido") == {"Bruna"}  # every word
    assert _inbox(scene, "entreg") == {"Diana"}  # a prefix
    assert _inbox(scene, "globex") == set()  # another tenant's words


def test_what_is_typed_is_never_query_syntax(scene, api):
    for text in ("a & b | !c", "boleto:*", "'\\", "( )", "&&&"):
        assert scene["client"].get("/inbox/", {"tab": "all", "q": text}).status_code == 200
        assert api(scene["api"]).get("/api/v1/conversations", {"search": text}).status_code == 200
    assert words_query("a & b | !c:*") == "a & b & c:*"
    assert words_query("(&)") == ""


@postgresql
def test_the_word_search_is_served_by_its_index():
    """The column searched is the one indexed (migration conversations/0014): were they to
    drift apart, every search would read the whole messages table."""
    from conversations.models import Message
    from conversations.search import messages_matching

    sql, params = messages_matching(Message.all_objects.all(), "boleto").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "message_search_words" in plan, plan


def test_a_row_shows_the_message_that_matched_with_the_match_marked_and_escaped(acme, member):
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    admin = member(acme, Role.TENANT_ADMIN)
    conversation = factories.ConversationFactory(tenant=acme, channel=channel)
    factories.MessageFactory(conversation=conversation, content="<b>Oi</b> segue o boleto de <i>dezembro</i>")
    factories.MessageFactory(conversation=conversation, content="Obrigado!")  # the last one, unmatched
    client = Client()
    client.force_login(admin.user)
    session = client.session
    session[SESSION_TENANT_KEY] = acme.pk
    session.save()

    html = client.get("/inbox/", {"tab": "all", "q": "boleto"}).content.decode()
    rows = client.get("/inbox/rows/", {"tab": "all", "q": "boleto"}, HTTP_HX_REQUEST="true").content.decode()

    for page in (html, rows):
        snippet = page[page.index('class="preview search-match"'):]
        snippet = snippet[:snippet.index("</span>")]
        assert "<mark>boleto</mark>" in snippet
        # What the contact typed is text: escaped (PostgreSQL's headline even leaves tags out).
        assert "<b>" not in snippet and "<i>" not in snippet and "dezembro" in snippet


def _listed(client, text: str, **extra) -> tuple[list[str], str]:
    """The rows of one page of /inbox/rows/ (public ids in order) and its next cursor."""
    html = client.get("/inbox/rows/", {"tab": "all", "q": text, **extra}, HTTP_HX_REQUEST="true").content.decode()
    ids = re.findall(r'id="conversation-([0-9a-f-]{36})"', html)
    cursor = re.search(r"after=([^\"]+)\"", html)
    return ids, (unquote(cursor.group(1).replace("&amp;", "&")) if cursor else "")


def test_results_are_ranked_contacts_named_first_then_messages_each_newest_first(acme, member, monkeypatch, api):
    """Who is asked for by name comes first, however long ago they wrote; then the conversations
    where a message says it. Paged across the ranks without a row lost or repeated."""
    monkeypatch.setattr("conversations.selectors.INBOX_PAGE_SIZE", 2)
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    admin = member(acme, Role.TENANT_ADMIN)
    start = timezone.now() - timedelta(days=30)
    made = {}
    for index, (key, name, text) in enumerate([
        ("named_old", "Marta Souza", "Bom dia"),
        ("named_both", "Marta Lima", "a Marta de novo"),  # both: listed once, with those named
        ("said_old", "Rui Alves", "falei com a marta ontem"),
        ("named_new", "Marta Reis", "Oi"),
        ("said_new", "Ana Dias", "Marta pediu retorno"),
        ("neither", "Paulo Mota", "Nada a ver"),
    ]):
        contact = factories.ContactFactory(tenant=acme, name=name, phone=f"+55119{index:08d}")
        conversation = factories.ConversationFactory(tenant=acme, channel=channel, contact=contact)
        factories.MessageFactory(conversation=conversation, content=text)
        Conversation.all_objects.filter(pk=conversation.pk).update(last_activity_at=start + timedelta(days=index))
        made[str(conversation.public_id)] = key
    client = Client()
    client.force_login(admin.user)
    session = client.session
    session[SESSION_TENANT_KEY] = acme.pk
    session.save()

    seen, cursor, pages = [], "", 0
    while True:
        ids, cursor = _listed(client, "marta", **({"after": cursor} if cursor else {}))
        seen += [made[pk] for pk in ids]
        pages += 1
        if not cursor or pages > 5:
            break

    assert seen == ["named_new", "named_both", "named_old", "said_new", "said_old"]
    assert pages == 3
    # The API ranks the same way, paged by its own cursor (its `previous` is null).
    listed, url = [], "/api/v1/conversations?search=Marta&page_size=2"
    client_api = api(admin)
    while url:
        body = client_api.get(url).json()
        listed += [made[row["id"]] for row in body["results"]]
        assert body["previous"] is None
        url = body["next"]
    assert listed == seen
    assert client_api.get("/api/v1/conversations", {"search": "marta", "cursor": "%%%"}).status_code == 422
    full_page = client.get("/inbox/", {"tab": "all", "q": "marta"}).content.decode()
    assert [made[pk] for pk in re.findall(r'id="conversation-([0-9a-f-]{36})"', full_page)] == [
        "named_new", "named_both"]


def test_a_cursor_from_elsewhere_is_a_first_page_not_an_error(scene):
    for after in ("9~nonsense", "1~2026-01-01T00:00:00+00:00_not-a-uuid", "~", "x" * 80):
        response = scene["client"].get("/inbox/rows/", {"tab": "all", "q": "boleto", "after": after},
                                       HTTP_HX_REQUEST="true")
        assert response.status_code == 200


@pytest.mark.parametrize("walk", [2, 1000])
def test_past_the_walk_the_index_finds_the_rest_in_order(acme, member, monkeypatch, walk):
    """A message rank walks the next conversations first, then asks the words' index for the
    page's rest past them (a rare word): the same rows in the same order either way."""
    monkeypatch.setattr("conversations.selectors.INBOX_PAGE_SIZE", 2)
    monkeypatch.setattr("conversations.selectors.SEARCH_WALK", walk)
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    agent = member(acme, Role.AGENT, channels=(channel,))  # who may not read what was deleted
    start = timezone.now() - timedelta(days=30)
    expected = []
    for index in range(9):
        conversation = factories.ConversationFactory(tenant=acme, channel=channel)
        matched = index in (0, 1, 4, 7, 8)
        factories.MessageFactory(conversation=conversation, content="a geladeira chegou" if matched else "oi")
        factories.MessageFactory(conversation=conversation, content="obrigado")
        Conversation.all_objects.filter(pk=conversation.pk).update(last_activity_at=start + timedelta(days=index))
        if matched:
            expected.insert(0, str(conversation.public_id))
    deleted = factories.ConversationFactory(tenant=acme, channel=channel)  # its match was deleted for everyone
    factories.MessageFactory(conversation=deleted, content="geladeira", deleted_at=timezone.now())
    Conversation.all_objects.filter(pk=deleted.pk).update(last_activity_at=start - timedelta(days=1))
    for hours in (1, 2):  # between the last match and the deleted one: the deleted one is past a walk
        quiet = factories.ConversationFactory(tenant=acme, channel=channel)
        factories.MessageFactory(conversation=quiet, content="oi")
        Conversation.all_objects.filter(pk=quiet.pk).update(last_activity_at=start - timedelta(hours=hours))
    client = Client()
    client.force_login(agent.user)
    session = client.session
    session[SESSION_TENANT_KEY] = acme.pk
    session.save()

    seen, cursor = [], ""
    for _ in range(6):
        ids, cursor = _listed(client, "geladeira", **({"after": cursor} if cursor else {}))
        seen += ids
        if not cursor:
            break

    assert seen == expected
