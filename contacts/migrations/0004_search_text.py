"""Contacts searched accent- and case-insensitively (contacts.search): a `search_text` column
(name, email and phone digits, folded), filled here for the contacts that exist, in batches; on
PostgreSQL a trigram index serves its `contains` searches (pg_trgm, a trusted extension since
PostgreSQL 13; where it cannot be created the search works unindexed). And the index of the
contacts page's order, newest first, which its keyset pages walk."""

import re
import unicodedata

from django.db import migrations, models, transaction

BATCH = 2000


def _fold(text):
    decomposed = unicodedata.normalize("NFKD", text or "")
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def fill_search_text(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    rows = Contact._base_manager.using(schema_editor.connection.alias).order_by("pk")
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last).only("pk", "name", "phone", "email")[:BATCH])
        if not batch:
            return
        for contact in batch:
            contact.search_text = " ".join(part for part in (
                _fold(contact.name), (contact.email or "").strip().lower(), re.sub(r"\D", "", contact.phone or ""))
                if part)
        Contact._base_manager.using(schema_editor.connection.alias).bulk_update(batch, ["search_text"])
        last = batch[-1].pk


def trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("contacts", "Contact")._meta.db_table
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # no right to create it: the search stays correct, only unindexed
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS contact_search_trgm ON {table} "
                          "USING gin (search_text gin_trgm_ops)")


def trigram_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS contact_search_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ("contacts", "0003_provider_details"),
        ("tenants", "0005_tenant_audit_retention_days"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="search text"),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(trigram_index, trigram_index_drop),
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(fields=["tenant", "-public_id"], name="contact_tenant_newest"),
        ),
    ]
