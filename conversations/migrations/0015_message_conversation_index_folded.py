"""The messages' index on their conversation alone goes: msg_conversation_created (conversation,
time) serves every lookup by conversation, and in time order, so PostgreSQL reads a
conversation's newest match backwards and stops at it (the search's snippets) instead of reading
all of the conversation's messages through the narrower index and sorting them. One index less
to write per message (89 MB at ten million messages). Dropped CONCURRENTLY on PostgreSQL, and
only the index: Django's own AlterField would drop and re-add the foreign key, which PostgreSQL
then checks against every message under a lock."""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "conversations_message_conversation_id_f1a2d5e9"


def index_drop(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'DROP INDEX{concurrently} IF EXISTS "{INDEX}"')


def index_create(apps, schema_editor):
    table = apps.get_model("conversations", "Message")._meta.db_table
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'CREATE INDEX{concurrently} IF NOT EXISTS "{INDEX}" ON {table} (conversation_id)')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('conversations', '0014_message_search_words'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='message',
                    name='conversation',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='messages', to='conversations.conversation'),
                ),
            ],
            database_operations=[migrations.RunPython(index_drop, index_create, elidable=False)],
        ),
    ]
