"""config.sql: plain statements in place of the ORM on the hottest paths."""

from __future__ import annotations

import pytest
from django.db import connection

from config.sql import columns, fetch_all, insert, instances, one_of, planned_for_their_values
from conversations.models import Message
from tenants.models import TenantEvent
from tests import factories

pytestmark = pytest.mark.django_db


def _reply(conversation, provider_id: str) -> Message:
    return Message(tenant_id=conversation.tenant_id, conversation=conversation, channel=conversation.channel,
                   direction=Message.Direction.INBOUND, sender_type=Message.SenderType.CONTACT,
                   content=f"mensagem {provider_id}", provider_message_id=provider_id)


def test_rows_are_written_as_the_orm_writes_them(acme):
    conversation = factories.ConversationFactory(tenant=acme)

    inserted = insert([_reply(conversation, "wamid.A"), _reply(conversation, "wamid.B")])

    assert [message.pk for message in inserted] == sorted(message.pk for message in inserted)
    stored = Message.all_objects.get(pk=inserted[1].pk)
    assert (stored.content, stored.provider_message_id, stored.content_attributes, stored.metadata) == (
        "mensagem wamid.B", "wamid.B", {}, {})
    assert stored.created_at is not None and stored.updated_at is not None  # defaults and auto_now
    assert not inserted[0]._state.adding


def test_json_is_stored_as_json(acme):
    (event,) = insert([TenantEvent(tenant_id=acme.pk, name="message.created", payload={"message_id": 7, "a": [1]})])

    assert TenantEvent.all_objects.get(pk=event.pk).payload == {"message_id": 7, "a": [1]}


def test_conflicting_rows_are_left_out_and_keep_no_id(acme):
    conversation = factories.ConversationFactory(tenant=acme)
    (first,) = insert([_reply(conversation, "wamid.A")])

    again, new = _reply(conversation, "wamid.A"), _reply(conversation, "wamid.C")
    inserted = insert([again, new], conflicts_by="provider_message_id")

    assert inserted == [new] and new.pk is not None and again.pk is None
    assert Message.all_objects.filter(provider_message_id="wamid.A").get().pk == first.pk


@pytest.mark.parametrize("negated,expected", [(False, ["wamid.A", "wamid.C"]), (True, ["wamid.B"])])
def test_one_of_matches_a_list_of_any_length(acme, negated, expected):
    conversation = factories.ConversationFactory(tenant=acme)
    insert([_reply(conversation, provider_id) for provider_id in ("wamid.A", "wamid.B", "wamid.C")])

    condition, params = one_of("provider_message_id", ["wamid.A", "wamid.C"], negated=negated)
    rows = fetch_all(f"SELECT provider_message_id FROM conversations_message WHERE conversation_id = %s AND "
                     f"{condition} ORDER BY id", [conversation.pk, *params])

    assert [row[0] for row in rows] == expected


def test_instances_are_what_the_orm_reads(acme):
    conversation = factories.ConversationFactory(tenant=acme)
    (stored,) = insert([_reply(conversation, "wamid.A")])
    Message.all_objects.filter(pk=stored.pk).update(content_attributes={"media": {"id": "1"}})

    (found,) = instances(Message, f"SELECT {columns(Message, 'm')}, 'x' AS extra FROM conversations_message m "
                                  f"WHERE m.id = %s", [stored.pk], extra=("extra",))

    expected = Message.all_objects.get(pk=stored.pk)
    assert [getattr(found, f.attname) for f in Message._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in Message._meta.concrete_fields]
    assert found.content_attributes == {"media": {"id": "1"}} and found.extra == "x"
    assert not found._state.adding


def test_statements_planned_for_their_values_are_never_prepared_and_the_others_are_again():
    connection.ensure_connection()
    threshold = getattr(connection.connection, "prepare_threshold", None)

    with planned_for_their_values():
        inside = getattr(connection.connection, "prepare_threshold", None)
        assert fetch_all("SELECT 1", []) == [(1,)]

    assert inside is None
    assert getattr(connection.connection, "prepare_threshold", None) == threshold
