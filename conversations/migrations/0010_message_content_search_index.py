"""The index of the messages' words (conversations.search): GIN over their text search vector
in `public.portuguese_unaccent`, made CONCURRENTLY (the messages table may be large in a running
installation: writes go on while it is built). PostgreSQL only."""

from django.db import migrations

INDEX = "message_content_search"


def index_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("conversations", "Message")._meta.db_table
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {table} "
                          "USING gin (to_tsvector('public.portuguese_unaccent'::regconfig, content))")


def index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("conversations", "0009_message_search_config")]

    operations = [migrations.RunPython(index_create, index_drop, elidable=False)]
