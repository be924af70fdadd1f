"""The messages' words kept beside their text (conversations.search): a stored tsvector column,
`search_words`, that PostgreSQL computes itself when a message is written (a generated column:
the model does not name it, no write path changes), indexed by GIN in place of 0010's index on
the expression. Why: a search that tests a conversation's messages one by one (and any recheck of
the index's pages) computed `to_tsvector` for each message read, ~13 µs, which made a walk over a
thousand conversations cost 0.3–0.9 s at ten million messages; the stored vector is read, not
computed. PostgreSQL only.

Adding the column rewrites the messages table under an exclusive lock (writes to it wait; the
webhooks received meanwhile are kept and processed after): at ten million messages on two cores,
about 7 minutes, measured with the old index still rebuilt by the rewrite and the machine busy
(docs/benchmarks.md, "Scale"). The index is then built CONCURRENTLY."""

from django.db import migrations

CONFIG = "public.portuguese_unaccent"
COLUMN = "search_words"
INDEX = "message_search_words"
OLD_INDEX = "message_content_search"


def _table(apps):
    return apps.get_model("conversations", "Message")._meta.db_table


def words_add(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = _table(apps)
    # The old index goes first: the rewrite rebuilds every index of the table, and this one would
    # compute every message's vector a second time.
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {OLD_INDEX}")
    schema_editor.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {COLUMN} tsvector "
                          f"GENERATED ALWAYS AS (to_tsvector('{CONFIG}'::regconfig, content)) STORED")
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {table} USING gin ({COLUMN})")


def words_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = _table(apps)
    schema_editor.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {OLD_INDEX} ON {table} "
                          f"USING gin (to_tsvector('{CONFIG}'::regconfig, content))")
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {COLUMN}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("conversations", "0013_conversation_channel_status_activity_index")]

    operations = [migrations.RunPython(words_add, words_drop, elidable=False)]
