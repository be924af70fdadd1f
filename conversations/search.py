"""Messages found by their words. On PostgreSQL: full-text search in the configuration
`public.portuguese_unaccent` (Portuguese stemming after unaccent: "boleto" finds "Bolêto" and
"boletos", "joao" finds "João"), each word typed taken as a prefix ("entreg" finds "entrega"),
every word required, through the GIN index of migration conversations/0010. On other databases
(the embedded SQLite) a case-insensitive `contains` of the text as typed."""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL

from conversations.models import Message

CONFIG = "public.portuguese_unaccent"
MAX_WORDS = 12
# Letters and digits only: what reaches to_tsquery can never be its syntax (&, |, !, :, quotes).
_WORD = re.compile(r"[^\W_]+")
_MATCHES = (f"to_tsvector('{CONFIG}'::regconfig, content) @@ to_tsquery('{CONFIG}'::regconfig, %s)")


def words_query(text: str) -> str:
    """`text` as a tsquery: every word, each as a prefix ("" when it has no word)."""
    return " & ".join(f"{word}:*" for word in _WORD.findall(text)[:MAX_WORDS])


def messages_matching(messages: QuerySet[Message], text: str) -> QuerySet[Message]:
    """Those of `messages` whose text has every word of `text` (see the module)."""
    if connection.vendor != "postgresql":
        return messages.filter(content__icontains=text)
    query = words_query(text)
    if not query:
        return messages.none()
    return messages.filter(RawSQL(_MATCHES, [query], output_field=BooleanField()))
