"""The inbox pages and fragments, through Django's test client (session auth, CSRF on)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from channels_app.models import MessageTemplate
from conversations.models import Attachment, Conversation, Message
from tests import factories
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
XSS = "<img src=x onerror=alert(1)>"
WORKED_CHANNELS = 'SELECT "channels_app_channeluserobjectpermission"'


def _login(member) -> Client:
    client = Client(enforce_csrf_checks=False)
    response = client.post("/login/", {"email": member.user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


@pytest.fixture
def inbox(acme, member):
    channel = factories.ChannelFactory(tenant=acme, name="WhatsApp Vendas", kind="whatsapp_cloud")
    agent = member(acme, Role.AGENT, channels=(channel,), full_name="Ana Agente")
    conversation = factories.ConversationFactory(tenant=acme, channel=channel, assignee=agent.user,
                                                 last_inbound_at=timezone.now(), unread_count=2,
                                                 contact=factories.ContactFactory(tenant=acme, name=XSS))
    factories.MessageFactory(conversation=conversation, content=XSS)
    return {"channel": channel, "agent": agent, "conversation": conversation, "client": _login(agent)}


def test_login_page_and_wrong_password(db, acme, member):
    agent = member(acme, Role.AGENT)
    client = Client()

    page = client.get("/login/")
    wrong = client.post("/login/", {"email": agent.user.email, "password": "nope"})

    assert page.status_code == 200
    assert wrong.status_code == 401
    assert 'class="form-error" role="alert"' in wrong.content.decode()


def test_repeated_login_failures_lock_the_account(db, acme, member):
    agent = member(acme, Role.AGENT)
    client = Client()
    for _ in range(5):
        client.post("/login/", {"email": agent.user.email, "password": "nope"})

    locked = client.post("/login/", {"email": agent.user.email, "password": PASSWORD})

    assert locked.status_code == 401  # as a wrong password (tests/accounts/test_login_lockout.py)
    assert "_auth_user_id" not in client.session


def test_inbox_requires_login(db):
    response = Client().get("/inbox/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_redirects_only_to_this_site(db, acme, member):
    agent = member(acme, Role.AGENT)

    response = Client().post("/login/?next=https://evil.example/", {"email": agent.user.email, "password": PASSWORD})

    assert response["Location"] == "/inbox/"


def test_inbox_shows_the_conversation_and_escapes_what_people_typed(inbox):
    conversation = inbox["conversation"]

    page = inbox["client"].get(f"/inbox/c/{conversation.public_id}/")

    html = page.content.decode()
    assert page.status_code == 200
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert f'id="conversation-{conversation.public_id}"' in html
    assert 'id="reply-form"' in html
    assert Conversation.all_objects.get(pk=conversation.pk).unread_count == 0


def test_the_title_counts_unread_conversations(inbox):
    page = inbox["client"].get("/inbox/")

    assert "<title>(1) " in page.content.decode()


def test_tabs_and_filters(inbox, acme):
    client = inbox["client"]
    unassigned = factories.ConversationFactory(tenant=acme, channel=inbox["channel"])

    mine = client.get("/inbox/rows/?tab=mine").content.decode()
    nobody = client.get("/inbox/rows/?tab=unassigned").content.decode()
    resolved = client.get("/inbox/rows/?tab=all&status=resolved").content.decode()

    assert f"conversation-{inbox['conversation'].public_id}" in mine and f"conversation-{unassigned.public_id}" not in mine
    assert f"conversation-{unassigned.public_id}" in nobody
    assert "conversation-" not in resolved


def test_reply_note_and_attachment(inbox):
    client, conversation = inbox["client"], inbox["conversation"]

    reply = client.post(f"/inbox/c/{conversation.public_id}/reply/", {"content": "Já verifico!", "private": "0"})
    note = client.post(f"/inbox/c/{conversation.public_id}/reply/", {"content": "cliente irritado", "private": "1"})
    image = client.post(f"/inbox/c/{conversation.public_id}/reply/", {
        "content": "", "private": "0",
        "attachments": SimpleUploadedFile("foto.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png"),
    })

    assert reply.status_code == 200 and "status-pending" in reply.content.decode()
    assert note.status_code == 200 and "note-tag" in note.content.decode()
    assert image.status_code == 200 and "inline-image" in image.content.decode()
    stored = Message.all_objects.filter(conversation=conversation).order_by("id").last()
    assert stored.type == Message.Type.IMAGE
    download = client.get(f"/inbox/attachments/{stored.attachments.get().public_id}/")
    assert download.status_code == 200 and download["Content-Type"] == "image/png"


def test_closed_window_refuses_a_reply_with_an_explanation_but_takes_a_note(inbox):
    client, conversation = inbox["client"], inbox["conversation"]
    Conversation.all_objects.filter(pk=conversation.pk).update(last_inbound_at=timezone.now() - timedelta(hours=25))

    page = client.get(f"/inbox/c/{conversation.public_id}/").content.decode()
    refused = client.post(f"/inbox/c/{conversation.public_id}/reply/", {"content": "oi", "private": "0"})
    note = client.post(f"/inbox/c/{conversation.public_id}/reply/", {"content": "lembrar de mandar template", "private": "1"})

    assert 'data-window-open="0"' in page and "window-closed" in page
    assert refused.status_code == 422 and "24" in refused.content.decode()
    assert note.status_code == 200


def test_actions_change_the_conversation(inbox, acme, member):
    client, conversation = inbox["client"], inbox["conversation"]
    colleague = member(acme, Role.AGENT, channels=(inbox["channel"],))

    resolve = client.post(f"/inbox/c/{conversation.public_id}/actions/", {"status": "RESOLVED"})
    assign = client.post(f"/inbox/c/{conversation.public_id}/actions/", {"assignee": str(colleague.user.public_id)})
    labels = client.post(f"/inbox/c/{conversation.public_id}/actions/", {"labels": ["", "vip", "troca"]})
    snooze = client.post(f"/inbox/c/{conversation.public_id}/actions/",
                         {"snoozed_until": (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})
    past = client.post(f"/inbox/c/{conversation.public_id}/actions/", {"snoozed_until": "2001-01-01T10:00"})

    assert {r.status_code for r in (resolve, assign, labels, snooze)} == {200}
    assert past.status_code == 400
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.SNOOZED
    assert conversation.assignee == colleague.user
    assert sorted(conversation.labels.values_list("name", flat=True)) == ["troca", "vip"]


def test_viewer_cannot_reply_or_act(acme, member, inbox):
    viewer = member(acme, Role.VIEWER, channels=(inbox["channel"],))
    client = _login(viewer)
    conversation = inbox["conversation"]

    page = client.get(f"/inbox/c/{conversation.public_id}/").content.decode()
    reply = client.post(f"/inbox/c/{conversation.public_id}/reply/", {"content": "oi"})
    action = client.post(f"/inbox/c/{conversation.public_id}/actions/", {"status": "RESOLVED"})

    assert 'id="reply-form"' not in page
    assert reply.status_code == 403 and action.status_code == 403
    assert Message.all_objects.filter(conversation=conversation).count() == 1


def test_other_tenants_and_other_channels_are_404(inbox, globex, acme, member):
    foreign = factories.ConversationFactory(tenant=globex)
    other_channel = factories.ConversationFactory(tenant=acme)
    client = inbox["client"]

    for conversation in (foreign, other_channel):
        assert client.get(f"/inbox/c/{conversation.public_id}/").status_code == 404
        assert client.get(f"/inbox/c/{conversation.public_id}/thread/").status_code == 404
        assert client.post(f"/inbox/c/{conversation.public_id}/reply/", {"content": "x"}).status_code == 404
        assert client.get(f"/inbox/rows/{conversation.public_id}/?tab=all").status_code == 204
    assert client.get(f"/inbox/messages/{factories.MessageFactory(conversation=foreign).public_id}/").status_code == 404


def test_contact_panel_edits_with_clear_errors(inbox):
    client, contact = inbox["client"], inbox["conversation"].contact

    bad = client.post(f"/inbox/contacts/{contact.public_id}/", {"name": "Maria", "phone": "abc", "email": ""})
    good = client.post(f"/inbox/contacts/{contact.public_id}/", {"name": "Maria", "phone": "(11) 91234-5678", "email": ""})

    assert bad.status_code == 400 and 'class="inline-error"' in bad.content.decode()
    assert good.status_code == 200 and "+5511912345678" in good.content.decode()


def test_tenant_switcher(acme, globex, member, inbox):
    agent = inbox["agent"]
    factories.MembershipFactory(tenant=globex, user=agent.user, role=Role.MANAGER)
    client = inbox["client"]

    client.post("/account/tenant", {"tenant": globex.public_id})
    page = client.get("/inbox/?tab=all").content.decode()

    assert "Globex" in page.split("<title>")[1].split("</title>")[0]
    assert f"conversation-{inbox['conversation'].public_id}" not in page


# What would put a sequential id in the page: DOM ids, data attributes, the inbox's URLs, option
# values (assignees, teams, channels, labels, accounts, templates).
_INTEGER_IDS = re.compile(r'id="(?:conversation|message|contact|thread)-\d+"|data-[a-z-]*id="\d+"|>#\d+<'
                          r'|/(?:inbox/(?:c|rows|messages|contacts|attachments)|settings/channels)/\d+/'
                          r'|<option value="\d+"|[?&;](?:before|channel|label|team)=\d+(?=["&])|[?&;]after=[^"&_]*_\d+(?=["&])')


def test_no_integer_id_is_in_the_inbox_pages(acme, member):
    channel = factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud")
    admin = member(acme, Role.TENANT_ADMIN, full_name="Ada Admin")
    factories.MembershipFactory(tenant=factories.TenantFactory(slug="globex"), user=admin.user)  # the account menu
    team, label = factories.TeamFactory(tenant=acme), factories.LabelFactory(tenant=acme)
    conversations = [factories.ConversationFactory(tenant=acme, channel=channel, team=team,
                                                   last_inbound_at=timezone.now() - timedelta(days=2))
                     for _ in range(35)]  # more than a page: the list's cursor
    conversation = conversations[0]
    conversation.labels.add(label)
    nameless = factories.ContactFactory(  # shown by a piece of its id, here all digits (as one in 40 are)
        tenant=acme, name="", phone="", email="", public_id=uuid.UUID("01a24629-7a5b-76e9-a229-23ce44344282"))
    Conversation.all_objects.filter(pk=conversation.pk).update(contact=nameless)
    conversation.refresh_from_db()
    messages = [factories.MessageFactory(conversation=conversation, content=f"m{n}") for n in range(45)]
    reply = factories.MessageFactory(conversation=conversation, direction=Message.Direction.OUTBOUND,
                                     sender_type=Message.SenderType.AGENT, status=Message.Status.FAILED)
    Attachment.all_objects.create(tenant=acme, message=reply, file=SimpleUploadedFile("a.txt", b"a"),
                                  file_name="a.txt", content_type="text/plain")
    MessageTemplate.all_objects.create(tenant=acme, channel=channel, name="pedido", language="pt_BR",
                                       status="APPROVED", body="Olá")  # offered: the window is closed
    client = _login(admin)
    thread = f"/inbox/c/{conversation.public_id}/"

    pages = {path: client.get(path) for path in [
        f"{thread}?tab=all", "/inbox/rows/?tab=all", f"{thread}thread/", f"{thread}header/",
        f"{thread}messages/?before={messages[10].public_id}", f"/inbox/messages/{reply.public_id}/",
        f"/inbox/contacts/{conversation.contact.public_id}/", f"/inbox/rows/{conversation.public_id}/?tab=all",
        f"/inbox/?tab=all&channel={channel.public_id}&team={team.public_id}&label={label.public_id}",
        "/settings/channels/", f"/settings/channels/{channel.public_id}/"]}

    # The nameless contact's label is a piece of its public id: all digits about one time in 40.
    nameless_label = f">{nameless}<"
    for path, page in pages.items():
        html = page.content.decode()
        assert page.status_code == 200, (path, html[:300])
        assert _INTEGER_IDS.findall(html.replace(nameless_label, "><")) == [], path
    page = pages[f"{thread}?tab=all"].content.decode()
    for public_id in (conversation.public_id, reply.public_id, team.public_id, label.public_id, admin.user.public_id,
                      channel.public_id, acme.public_id):
        assert str(public_id) in page


def test_the_list_filters_and_pages_by_public_ids(acme, member):
    channel, other = factories.ChannelFactory(tenant=acme), factories.ChannelFactory(tenant=acme)
    manager = member(acme, Role.MANAGER)
    team, label = factories.TeamFactory(tenant=acme), factories.LabelFactory(tenant=acme)
    same_moment = timezone.now()
    listed = [factories.ConversationFactory(tenant=acme, channel=channel, team=team, last_activity_at=same_moment)
              for _ in range(40)]  # one moment for all: the cursor's tie-break decides
    factories.ConversationFactory(tenant=acme, channel=other)
    listed[0].labels.add(label)
    client = _login(manager)

    def ids(html: str) -> list[str]:
        return re.findall(r'<li id="conversation-([0-9a-f-]{36})"', html)

    first = client.get(f"/inbox/rows/?tab=all&channel={channel.public_id}").content.decode()
    cursor = re.search(r"after=([^\"]+)\"", first).group(1)
    second = client.get(f"/inbox/rows/?tab=all&channel={channel.public_id}&after={cursor}").content.decode()
    by_team = client.get(f"/inbox/rows/?tab=all&team={team.public_id}").content.decode()
    by_label = client.get(f"/inbox/rows/?tab=all&label={label.public_id}").content.decode()
    malformed = client.get("/inbox/rows/?tab=all&channel=12&team=x").content.decode()

    assert sorted(ids(first) + ids(second)) == sorted(str(c.public_id) for c in listed)
    assert len(ids(first)) == 30 and len(set(ids(first)) & set(ids(second))) == 0
    assert len(ids(by_team)) == 30 and ids(by_label) == [str(listed[0].public_id)]
    assert len(ids(malformed)) == 30  # a malformed id filters nothing out
    assert client.get("/inbox/c/12/").status_code == 404
    assert client.get(f"/inbox/c/{listed[0].public_id}/actions/").status_code == 405
    assert client.post(f"/inbox/c/{listed[0].public_id}/actions/", {"assignee": "12"}).status_code == 404


def test_language_follows_the_member(inbox):
    client = inbox["client"]

    portuguese = client.get("/inbox/").content.decode()
    client.post("/account/language", {"language": "en", "next": "/inbox/"})
    english = client.get("/inbox/").content.decode()

    assert 'lang="pt-br"' in portuguese
    assert 'lang="en"' in english and "Unassigned" in english


@pytest.mark.parametrize("path", ["/inbox/?tab=all", "/inbox/rows/?tab=all", "/inbox/c/{conversation}/thread/",
                                  "/inbox/c/{conversation}/messages/?before={last}", "/inbox/?tab=all&q=mensagem",
                                  "/inbox/rows/?tab=all&q=contact", "/inbox/counts/?tab=all",
                                  "/inbox/c/{conversation}/?tab=all"])
def test_inbox_queries_do_not_grow_with_rows(acme, member, path):
    counts = []
    for rows in (5, 40):
        tenant = factories.TenantFactory()
        channel = factories.ChannelFactory(tenant=tenant)
        agent = member(tenant, Role.AGENT, channels=(channel,))
        label = factories.LabelFactory(tenant=tenant)
        for _ in range(rows):
            conversation = factories.ConversationFactory(tenant=tenant, channel=channel, assignee=agent.user)
            conversation.labels.add(label)
        messages = [factories.MessageFactory(conversation=conversation) for _ in range(rows)]
        client = _login(agent)
        url = path.format(conversation=conversation.public_id, last=messages[-1].public_id)
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        counts.append(len(context.captured_queries))

    if "q=" in path:
        # A search reads its ranks until the page is full (conversation_search_ranked): a short
        # list reads the next rank too, and past the walk, a few statements more, never one per row.
        assert counts[1] <= counts[0] <= counts[1] + 2, counts
    else:
        assert counts[0] == counts[1], counts


@pytest.mark.parametrize(("path", "most"), [("/inbox/", 17), ("/inbox/?tab=all&status=resolved", 16),
                                            ("/inbox/c/{conversation}/thread/", 13)])
def test_an_agents_channels_are_read_once_a_request(inbox, path, most):
    """The list, each tab's count and the unread count filter by the agent's channels: read once."""
    client = inbox["client"]
    url = path.format(conversation=inbox["conversation"].public_id)
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200

    assert len([query for query in queries if query["sql"].startswith(WORKED_CHANNELS)]) == 1
    assert len(queries) <= most


def test_the_page_names_each_tab_count_once_and_nothing_under_the_list(inbox):
    html = inbox["client"].get("/inbox/?tab=all").content.decode()

    for tab in ("mine", "unassigned", "all"):
        assert html.count(f'id="count-{tab}"') == 1
    rows = html[html.index('<ul id="rows"'):]
    rows = rows[:rows.index("</ul>")]
    assert "hx-swap-oob" not in rows and 'class="count"' not in rows


def test_a_new_list_counts_nothing_its_page_asks_for_the_counts(inbox):
    """The list of a new filter comes at once: the badges' counts are a request of their own."""
    with CaptureQueriesContext(connection) as queries:
        html = inbox["client"].get("/inbox/rows/?tab=all", HTTP_HX_REQUEST="true").content.decode()

    assert 'id="count-' not in html
    assert not [query for query in queries if "COUNT(" in query["sql"].upper()]


def test_tab_counts_follow_the_filters(inbox, acme):
    factories.ConversationFactory(tenant=acme, channel=inbox["channel"])

    counts = inbox["client"].get("/inbox/counts/?status=open").json()

    assert counts == {"mine": "1", "unassigned": "1", "all": "2"}


def test_counts_stop_at_the_cap_and_say_so(inbox, acme, monkeypatch):
    from conversations import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 2)
    for _ in range(3):
        factories.ConversationFactory(tenant=acme, channel=inbox["channel"])

    with CaptureQueriesContext(connection) as queries:
        counts = inbox["client"].get("/inbox/counts/?status=open").json()

    assert counts == {"mine": "1", "unassigned": "2+", "all": "2+"}
    counted = [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]
    assert len(counted) == 3 and all("LIMIT 3" in sql for sql in counted)


def test_a_search_is_not_counted(inbox):
    with CaptureQueriesContext(connection) as queries:
        counts = inbox["client"].get("/inbox/counts/?status=open&q=boleto").json()

    assert counts == {"mine": "", "unassigned": "", "all": ""}
    assert not [query for query in queries if "COUNT(" in query["sql"].upper()]


def _row_preview(client, conversation) -> str:
    html = client.get("/inbox/?tab=all").content.decode()
    row = html[html.index(f'id="conversation-{conversation.public_id}"'):]
    return re.search(r'<span class="preview">(.*?)</span>', row).group(1)


@pytest.mark.parametrize("sent", ["now", "whole_second_earlier", "unknown"])
def test_a_conversation_a_contact_starts_shows_its_first_message_in_the_list(inbox, acme, sent):
    from conversations.incoming import IncomingMessage
    from conversations.services import message_receive

    now = timezone.now()
    sent_at = {"now": now, "whole_second_earlier": now.replace(microsecond=0) - timedelta(seconds=1),
               "unknown": None}[sent]
    message, _created = message_receive(channel=inbox["channel"], message=IncomingMessage(
        provider_message_id=f"wamid.{sent}", contact_external_id="5511987654321", contact_name="Nova Cliente",
        content="Primeira mensagem", sent_at=sent_at))

    assert _row_preview(inbox["client"], message.conversation) == "Primeira mensagem"


def test_a_conversation_the_api_opens_shows_its_first_reply_in_the_list(inbox, acme, member, api):
    from channels_app.services import channel_access_grant

    channel = factories.ChannelFactory(tenant=acme, kind="api", name="CRM")
    channel_access_grant(channel=channel, user=inbox["agent"].user)
    client = api(member(acme, Role.MANAGER))
    contact = factories.ContactFactory(tenant=acme)
    created = client.post("/api/v1/conversations", {"channel_id": str(channel.public_id),
                                                    "contact_id": str(contact.public_id)}, format="json")
    conversation = Conversation.all_objects.get(public_id=created.json()["id"])
    sent = client.post(f"/api/v1/conversations/{conversation.public_id}/messages", {"content": "Olá, tudo bem?"},
                       format="json")
    assert sent.status_code == 201, sent.content

    assert _row_preview(inbox["client"], conversation) == "Olá, tudo bem?"


def test_a_reply_waiting_for_an_unreachable_provider_says_so_in_the_readers_language(inbox):
    reply = factories.MessageFactory(
        conversation=inbox["conversation"], direction=Message.Direction.OUTBOUND, status=Message.Status.PENDING,
        sender_type=Message.SenderType.AGENT, content="Já verifico",
        error_code="connection", error_message="WhatsApp could not be reached: NameResolutionError")

    html = inbox["client"].get(f"/inbox/messages/{reply.public_id}/").content.decode()

    said = html[html.index('class="retrying"'):html.index("</article>")]
    sentence, details = said.split('<details class="error-details">')
    assert "Ainda não enviada, tentando de novo" in sentence and "Não foi possível contatar o provedor do canal" in sentence
    assert "NameResolutionError" not in sentence  # the technical words stay behind "Detalhes"
    assert "<summary>Detalhes</summary>" in details and "NameResolutionError" in details
