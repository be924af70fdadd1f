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
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from config.sql import fetch_all
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


# --- What matched, shown in the list --------------------------------------------------------

SNIPPET_CHARS = 90
# ts_headline's marks: characters no message is expected to hold, turned into <mark> once the
# rest is escaped.
_START, _STOP = "\ue000", "\ue001"
_HEADLINE = f"StartSel={_START}, StopSel={_STOP}, MaxWords=14, MinWords=5, ShortWord=2, MaxFragments=1"


def _marked(text: str) -> SafeString:
    return mark_safe(escape(text.replace("\n", " ")).replace(_START, "<mark>").replace(_STOP, "</mark>"))  # noqa: S308 - escaped first


def _marked_contains(content: str, text: str) -> SafeString | None:
    at = content.casefold().find(text.casefold())
    if at < 0:
        return None
    start = max(at - SNIPPET_CHARS // 3, 0)
    end = at + len(text)
    before, match, after = content[start:at], content[at:end], content[end:end + SNIPPET_CHARS]
    return _marked(("…" if start else "") + before + _START + match + _STOP + after)


def search_snippets(*, conversation_ids: list[int], text: str, hide_deleted: bool) -> dict[int, SafeString]:
    """For each conversation, the newest of its messages that the search found, cut around what
    matched, with the match marked (<mark>, everything else escaped): one statement."""
    if not conversation_ids:
        return {}
    table = Message._meta.db_table
    deleted = " AND deleted_at IS NULL" if hide_deleted else ""
    if connection.vendor == "postgresql":
        query = words_query(text)
        if not query:
            return {}
        # The newest match of each conversation is chosen first and only it is headlined:
        # ts_headline reads its whole text, and a long conversation may match hundreds of times
        # ("boleto" at 10M messages: 238 ms when every match was headlined before the choice).
        rows = fetch_all(
            f"SELECT newest.conversation_id, ts_headline('{CONFIG}'::regconfig, newest.content, "
            f"to_tsquery('{CONFIG}'::regconfig, %s), %s) FROM ("
            f"SELECT DISTINCT ON (conversation_id) conversation_id, content FROM {table} "
            f"WHERE conversation_id = ANY(%s) AND {_MATCHES}{deleted} "
            f"ORDER BY conversation_id, created_at DESC, id DESC) AS newest",
            [query, _HEADLINE, conversation_ids, query])
        return {pk: _marked(headline) for pk, headline in rows}
    found: dict[int, SafeString] = {}
    newest_first = (Message.all_objects.filter(conversation_id__in=conversation_ids, content__icontains=text)
                    .order_by("conversation_id", "-created_at", "-id"))
    if hide_deleted:
        newest_first = newest_first.filter(deleted_at__isnull=True)
    for pk, content in newest_first.values_list("conversation_id", "content"):
        if pk not in found and (snippet := _marked_contains(content, text)) is not None:
            found[pk] = snippet
    return found
