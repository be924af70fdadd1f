"""`manage.py seed_scale`: a large tenant loaded with COPY and generate_series (PostgreSQL only).
Here a tiny one, checked for what the scale benchmark relies on: the counts asked for, the long
conversation, contacts searchable as the product makes them, public ids of the rows' own time,
words the search finds, and every index of the tables back after the load."""

from __future__ import annotations

import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from contacts.models import Contact
from contacts.search import search_text_for
from conversations.models import Conversation, Message
from conversations.scale import message_counts
from conversations.search import messages_matching
from tenants.models import Tenant

postgresql = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="seed_scale loads with PostgreSQL's COPY")


def test_message_counts_add_up_and_stay_mostly_short():
    counts = message_counts(conversations=5000, messages=50_000, long_index=4000, rng=random.Random(3))

    assert sum(counts) == 50_000
    assert min(counts) >= 1
    assert counts[4000] == 2000
    assert sum(1 for count in counts if count <= 10) > 0.9 * len(counts)
    assert any(count >= 500 for index, count in enumerate(counts) if index != 4000)


def test_message_counts_refuse_fewer_messages_than_conversations():
    from conversations.scale import ScaleSeedError

    with pytest.raises(ScaleSeedError):
        message_counts(conversations=10, messages=9, long_index=0, rng=random.Random(1))


@pytest.mark.django_db
def test_seed_scale_refuses_other_databases_than_postgresql(monkeypatch):
    """Run on every database: on PostgreSQL the connection says it is SQLite (the embedded
    default), where the refusal is real."""
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command("seed_scale", "--conversations", "5", "--messages", "10", stdout=StringIO())
    assert not Tenant.objects.filter(slug="scale").exists()


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)",
                       [[Message._meta.db_table, Conversation._meta.db_table, Contact._meta.db_table]])
        return {row[0] for row in cursor.fetchall()}


@postgresql
@pytest.mark.django_db(transaction=True)  # the seed ends with VACUUM, which runs outside a transaction
def test_seed_scale_loads_a_tenant():
    indexes = _indexes()
    out = StringIO()

    call_command("seed_scale", "--slug", "scale-test", "--conversations", "60", "--messages", "2500",
                 "--password", "scale-test-pass", stdout=out)

    tenant = Tenant.objects.get(slug="scale-test")
    conversations = Conversation.all_objects.filter(tenant=tenant)
    messages = Message.all_objects.filter(tenant=tenant)
    assert conversations.count() == 60
    assert messages.count() == 2500
    assert not conversations.filter(messages__isnull=True).exists()
    long_id = tenant.settings["scale_seed"]["long_conversation"]
    long = conversations.get(public_id=long_id)
    assert long.messages.count() == 2000 and long.status == Conversation.Status.OPEN
    assert str(long.public_id) in out.getvalue()
    # Contacts as the product writes them: their search text, a distinct phone each.
    contacts = Contact.all_objects.filter(tenant=tenant)
    for contact in contacts[:20]:
        assert contact.search_text == search_text_for(name=contact.name, phone=contact.phone, email=contact.email)
    assert contacts.values("phone").distinct().count() == contacts.count()
    # Public ids are UUIDv7 of each row's own time.
    newest = messages.order_by("-created_at").first()
    oldest = messages.order_by("created_at").first()
    assert newest.public_id.version == 7 and newest.public_id > oldest.public_id
    assert int(newest.public_id.hex[:12], 16) == int(newest.created_at.timestamp() * 1000)
    # The conversation's preview is its last message.
    last = long.messages.order_by("-created_at", "-id").first()
    assert long.last_message_preview == last.content[:200]
    assert long.last_activity_at == last.created_at
    # The word search finds Portuguese words in them, and not everything.
    found = messages_matching(messages, "boleto").count()
    assert 0 < found < 2500
    # Every index of the tables is there again (built after the load).
    assert _indexes() == indexes


@postgresql
@pytest.mark.django_db
def test_seed_scale_refuses_an_existing_tenant(acme):
    with pytest.raises(CommandError, match="exists already"):
        call_command("seed_scale", "--slug", acme.slug, "--conversations", "5", "--messages", "10", stdout=StringIO())
