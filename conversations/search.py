"""Messages found by their words. On PostgreSQL: full-text search in the configuration
`public.portuguese_unaccent` (Portuguese stemming after unaccent: "boleto" finds "Bolêto" and
"boletos", "joao" finds "João"), the last word typed taken as a prefix ("entreg" finds "entrega"),
every word required, through the GIN index of migration conversations/0014. On other databases
(the embedded SQLite) a case-insensitive `contains` of the text as typed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from config.sql import fetch_all
from conversations.models import Conversation, Message

CONFIG = "public.portuguese_unaccent"
MAX_WORDS = 12
# Letters and digits only: what reaches to_tsquery can never be its syntax (&, |, !, :, quotes).
_WORD = re.compile(r"[^\W_]+")
# `search_words`: the message's words, a column PostgreSQL computes from `content` (migration
# conversations/0014) and indexes by GIN; read, not computed, wherever a message is tested.
_MATCHES = f"search_words @@ to_tsquery('{CONFIG}'::regconfig, %s)"


def words_query(text: str) -> str:
    """`text` as a tsquery: every word, the last as a prefix (what is still being typed), the
    others whole (stemmed: "boletos" finds "boleto"); "" when it has no word. A common word as a
    prefix reads every lexeme it begins ("pedido:*": a million matches at ten million messages);
    whole, the index skips through it."""
    words = _WORD.findall(text)[:MAX_WORDS]
    return " & ".join([*words[:-1], f"{words[-1]}:*"]) if words else ""


def messages_matching(messages: QuerySet[Message], text: str, *, indexed: bool = True) -> QuerySet[Message]:
    """Those of `messages` whose text has every word of `text` (see the module). With `indexed`
    off the words are tested message by message, never through the words' index: what a walk
    over a few conversations' messages wants (conversations.selectors.SearchRank)."""
    if connection.vendor != "postgresql":
        return messages.filter(content__icontains=text)
    query = words_query(text)
    if not query:
        return messages.none()
    # `IS TRUE` is no operator an index serves: PostgreSQL then cannot trade the walk for a read
    # of every match in the table.
    condition = _MATCHES if indexed else f"({_MATCHES}) IS TRUE"
    return messages.filter(RawSQL(condition, [query], output_field=BooleanField()))


def conversation_matched(*, tenant_id: int, text: str, hide_deleted: bool) -> RawSQL | Q:
    """A condition on conversations: a message of theirs matches. On PostgreSQL the matching
    conversations' ids are listed once through the words' index (an array computed before the
    conversations are read), and the conversations fetched by primary key: never a walk over
    every conversation testing each against the list (which PostgreSQL chose for a word it
    guessed common: 75 s at ten million messages for a word nowhere). Meant for what a walk did
    not reach: rare words. Read it inside search_memory(): a rarer word's matches, spread over
    the table, made the index's bitmap lossy at the default 4 MB and every page was read again."""
    if connection.vendor != "postgresql":
        found = Message.all_objects.filter(tenant_id=tenant_id, content__icontains=text)
        return Q(pk__in=(found.filter(deleted_at__isnull=True) if hide_deleted else found).values("conversation_id"))
    query = words_query(text)
    if not query:
        return Q(pk__in=[])
    deleted = " AND deleted_at IS NULL" if hide_deleted else ""
    return RawSQL(f"{Conversation._meta.db_table}.id = ANY(ARRAY(SELECT DISTINCT conversation_id "
                  f"FROM {Message._meta.db_table} WHERE tenant_id = %s AND {_MATCHES}{deleted}))",
                  [tenant_id, query], output_field=BooleanField())


# Enough for the bitmap of a word found in ~1 % of ten million messages to stay exact.
SEARCH_WORK_MEM = "32MB"


@contextmanager
def search_memory() -> Iterator[None]:
    """Statements inside read with SEARCH_WORK_MEM (PostgreSQL; `SET LOCAL`, so only for this
    transaction: the connection's setting is back after it)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL work_mem = '{SEARCH_WORK_MEM}'")
        yield


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
        # Each conversation's messages are read newest first (its index on conversation and
        # time) up to the first that matches, tested one by one (IS TRUE: not through the words'
        # index, which lists a common word's every match in the table), and only that one is
        # headlined: ts_headline reads a whole text ("boleto" at 10M messages: 238 ms when every
        # match of the page's conversations was headlined, 47 ms when every message was tested).
        rows = fetch_all(
            f"SELECT page.id, ts_headline('{CONFIG}'::regconfig, newest.content, "
            f"to_tsquery('{CONFIG}'::regconfig, %s), %s) FROM unnest(%s::bigint[]) AS page(id) "
            f"CROSS JOIN LATERAL (SELECT content FROM {table} WHERE conversation_id = page.id "
            f"AND ({_MATCHES}) IS TRUE{deleted} ORDER BY created_at DESC LIMIT 1) AS newest",
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
