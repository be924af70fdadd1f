"""Messages searched by word, accent- and case-insensitively, in Portuguese (conversations.
search): on PostgreSQL, the text search configuration `public.portuguese_unaccent`, Portuguese
stemming after unaccent (a trusted extension since PostgreSQL 13). Where unaccent cannot be
created the configuration is plain Portuguese: the search works, only accents then count.
Other databases search without it (a simple fallback)."""

from django.db import migrations, transaction

CONFIG = "public.portuguese_unaccent"


def search_config(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        unaccent = True
    except Exception:  # no right to create it: words still match, accents then count
        unaccent = False
    schema_editor.execute(
        "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace "
        "WHERE c.cfgname = 'portuguese_unaccent' AND n.nspname = 'public') THEN "
        f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.portuguese); END IF; END $$")
    if unaccent:
        schema_editor.execute(f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} "
                              "ALTER MAPPING FOR hword, hword_part, word WITH public.unaccent, portuguese_stem")


def search_config_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")


class Migration(migrations.Migration):

    dependencies = [("conversations", "0008_team_channels")]

    operations = [migrations.RunPython(search_config, search_config_drop, elidable=False)]
