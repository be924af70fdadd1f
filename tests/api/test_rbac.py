from __future__ import annotations

import pytest

from accounts.models import ApiKey
from channels_app.models import Channel
from contacts.models import Contact
from conversations.models import CannedResponse, Conversation, Label, Message, Team

pytestmark = pytest.mark.django_db


def test_viewer_reads_but_cannot_send_or_change(world, api):
    side = world.acme
    client = api(side.viewer)
    messages_before = Message.all_objects.count()

    reads = [client.get("/api/v1/conversations"), client.get(f"/api/v1/conversations/{side.conversation.public_id}/messages")]
    send = client.post(f"/api/v1/conversations/{side.conversation.public_id}/messages", {"content": "oi"}, format="json")
    note = client.post(f"/api/v1/conversations/{side.conversation.public_id}/messages", {"content": "n", "private": True},
                       format="json")
    change = client.patch(f"/api/v1/conversations/{side.conversation.public_id}", {"status": "RESOLVED"}, format="json")
    edit = client.put(f"/api/v1/messages/{side.note.public_id}", {"content": "x"}, format="json")
    contact = client.post("/api/v1/contacts", {"name": "New"}, format="json")

    assert all(r.status_code == 200 for r in reads)
    for response in (send, note, change, edit, contact):
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
    assert Message.all_objects.count() == messages_before
    assert Conversation.all_objects.get(pk=side.conversation.pk).status == Conversation.Status.OPEN
    assert not Contact.all_objects.filter(name="New").exists()


def test_agent_sees_only_the_channels_it_works(world, api):
    side = world.acme
    client = api(side.agent)

    channels = client.get("/api/v1/channels").json()
    conversations = client.get("/api/v1/conversations").json()["results"]
    hidden = client.get(f"/api/v1/conversations/{side.hidden_conversation.public_id}")
    hidden_messages = client.get(f"/api/v1/conversations/{side.hidden_conversation.public_id}/messages")
    other_channel = client.get(f"/api/v1/channels/{side.other_channel.public_id}")

    assert [c["id"] for c in channels] == [str(side.channel.public_id)]
    assert [c["id"] for c in conversations] == [str(side.conversation.public_id)]
    assert hidden.status_code == 404
    assert hidden_messages.status_code == 404
    assert other_channel.status_code == 404


def test_agent_works_its_conversations(world, api):
    side = world.acme
    client = api(side.agent)

    reply = client.post(f"/api/v1/conversations/{side.conversation.public_id}/messages", {"content": "Olá!"}, format="json")
    assign = client.patch(f"/api/v1/conversations/{side.conversation.public_id}",
                          {"assignee_id": str(side.agent.user.public_id), "status": "PENDING"}, format="json")

    assert reply.status_code == 201
    assert assign.status_code == 200
    assert assign.json()["assignee"]["id"] == str(side.agent.user.public_id)


def test_agent_cannot_manage_channels(world, api):
    side = world.acme
    client = api(side.agent)

    create = client.post("/api/v1/channels", {"kind": "api", "name": "Mine"}, format="json")
    rename = client.patch(f"/api/v1/channels/{side.channel.public_id}", {"name": "Renamed"}, format="json")
    archive = client.delete(f"/api/v1/channels/{side.channel.public_id}")

    assert {create.status_code, rename.status_code, archive.status_code} == {403}
    channel = Channel.all_objects.get(pk=side.channel.pk)
    assert channel.name == "acme WhatsApp" and channel.archived_at is None
    assert Channel.all_objects.filter(tenant=side.tenant).count() == 2


def test_agent_cannot_open_a_conversation_on_a_channel_it_does_not_work(world, api):
    side = world.acme

    response = api(side.agent).post(
        "/api/v1/conversations", {"channel_id": str(side.other_channel.public_id),
                                 "contact_id": str(side.contact.public_id)}, format="json"
    )

    assert response.status_code == 422
    assert "channel_id" in response.json()["error"]["details"]


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_see_everything_and_manage_channels(world, api, role):
    side = world.acme
    client = api(getattr(side, role))

    conversations = client.get("/api/v1/conversations").json()["results"]
    created = client.post("/api/v1/channels", {"kind": "api", "name": "Integração", "credentials": {"key": "s3cret-value"}},
                          format="json")
    renamed = client.patch(f"/api/v1/channels/{side.channel.public_id}", {"name": "Renamed"}, format="json")

    assert {c["id"] for c in conversations} == {str(side.conversation.public_id), str(side.hidden_conversation.public_id)}
    assert created.status_code == 201
    assert "s3cret-value" not in created.content.decode()
    assert created.json()["credential_keys"] == ["key"]
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"


def test_assigning_an_agent_without_the_channel_is_refused(world, api, member):
    side = world.acme
    outsider = member(side.tenant, "AGENT")  # works no channel

    response = api(side.manager).patch(f"/api/v1/conversations/{side.conversation.public_id}",
                                       {"assignee_id": str(outsider.user.public_id)}, format="json")

    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"assignee_id": ["No access to the channel."]}
    assert Conversation.all_objects.get(pk=side.conversation.pk).assignee_id is None


def test_unauthenticated_requests_are_401(world, api):
    response = api().get("/api/v1/conversations")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", ["agent", "viewer"])
def test_agents_and_viewers_read_teams_labels_and_canned_responses_but_change_none(world, api, role):
    side = world.acme
    client = api(getattr(side, role))

    reads = [client.get(path) for path in ("/api/v1/teams", "/api/v1/labels", "/api/v1/canned-responses")]
    writes = [
        client.post("/api/v1/teams", {"name": "New"}, format="json"),
        client.patch(f"/api/v1/teams/{side.team.public_id}", {"name": "Renamed"}, format="json"),
        client.post("/api/v1/labels", {"name": "new"}, format="json"),
        client.delete(f"/api/v1/labels/{side.label.public_id}"),
        client.post("/api/v1/canned-responses", {"short_code": "new", "content": "New"}, format="json"),
        client.delete(f"/api/v1/canned-responses/{side.canned.public_id}"),
    ]

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert [w.status_code for w in writes] == [403] * len(writes)
    assert Team.all_objects.get(pk=side.team.pk).name == "acme Vendas"
    assert Label.all_objects.filter(tenant=side.tenant).count() == 1
    assert CannedResponse.all_objects.filter(tenant=side.tenant).count() == 1


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_manage_teams_labels_and_canned_responses(world, api, role):
    side = world.acme
    client = api(getattr(side, role))

    team = client.post("/api/v1/teams", {"name": "Suporte", "member_ids": [str(side.agent.user.public_id)]},
                       format="json")
    label = client.patch(f"/api/v1/labels/{side.label.public_id}", {"color": "#dc2626"}, format="json")
    canned = client.post("/api/v1/canned-responses", {"short_code": "tchau", "content": "Até logo!"}, format="json")

    assert (team.status_code, label.status_code, canned.status_code) == (201, 200, 201)
    assert Team.all_objects.get(public_id=team.json()["id"]).members.get() == side.agent.user


@pytest.mark.parametrize("role", ["manager", "agent", "viewer"])
def test_only_administrators_manage_api_keys(world, api, role):
    client = api(getattr(world.acme, role))

    for response in (client.get("/api/v1/api-keys"),
                     client.post("/api/v1/api-keys", {"name": "x", "scope": "read"}, format="json")):
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "permission_denied"
    assert not ApiKey.all_objects.exists()
    assert api(world.acme.admin).get("/api/v1/api-keys").status_code == 200
