from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, prefetch_related_objects

from accounts.access import TenantAccess
from accounts.models import User
from channels_app.models import Channel
from channels_app.selectors import channel_ids_worked_by, channel_pks_worked_by
from config.ids import uuid_or_none
from config.sql import planned_for_their_values
from contacts.models import Contact
from contacts.selectors import contact_search_q
from conversations.models import Attachment, CannedResponse, Conversation, Label, Message, Team
from conversations.search import conversation_matched, messages_matching, search_memory, search_snippets

# Who may read what a message its sender deleted for everyone said (the others see it deleted).
READ_DELETED = "messages:read_deleted"


def message_deleted_content_visible(*, access: TenantAccess | None) -> bool:
    return access is not None and access.has(READ_DELETED)


def channel_last_inbound_at(*, channel_id: int) -> datetime | None:
    """When a contact last wrote on the channel (its conversations' newest contact message)."""
    found: datetime | None = Conversation.all_objects.filter(channel_id=channel_id).aggregate(
        newest=Max("last_inbound_at"))["newest"]
    return found


def conversation_list(*, access: TenantAccess) -> QuerySet[Conversation]:
    """The conversations this member may see: all of the tenant's for managers and admins,
    those of the channels they work for agents and viewers."""
    conversations = Conversation.objects.select_related("contact", "channel", "assignee", "team").prefetch_related(
        Prefetch("labels", queryset=Label.all_objects.order_by("name"))
    )
    if not access.sees_all_channels:
        # Read first, as a list (one small query a request): as a subquery PostgreSQL guesses it
        # yields one row and sorts every conversation of the tenant instead of walking an index
        # (at ten million messages: "mine / resolved" 2,992 → 0.6 ms; docs/benchmarks.md, "Scale").
        conversations = conversations.filter(channel_id__in=channel_pks_worked_by(access=access))
    return conversations


def _search_sides(*, access: TenantAccess, text: str) -> tuple[QuerySet[Contact], QuerySet[Message]]:
    """The contacts whose name, phone (any run of its digits) or email matches, and the messages
    (of the outer conversation, `OuterRef("pk")`) whose words do (conversations.search)."""
    in_messages = messages_matching(Message.objects.filter(conversation_id=OuterRef("pk")), text)
    if not message_deleted_content_visible(access=access):
        in_messages = in_messages.filter(deleted_at__isnull=True)
    return Contact.objects.filter(contact_search_q(tenant=access.tenant, text=text)), in_messages


def conversation_search(queryset: QuerySet[Conversation], *, access: TenantAccess, text: str) -> QuerySet[Conversation]:
    """By the contact's name, phone (any run of its digits) or email, or by the words of a
    message (conversations.search). Each side is a subquery read once through its own index (the
    contacts' trigrams, the messages' words), not a test per conversation."""
    text = text.strip()
    if not text:
        return queryset
    contacts, in_messages = _search_sides(access=access, text=text)
    # EXISTS, not IN: the list of a common word's messages outgrows work_mem, and PostgreSQL then
    # reads it again for every conversation (10M messages: "boleto" 58.6 s as IN, 23–32 ms as EXISTS).
    return queryset.filter(Q(contact_id__in=contacts.values("pk")) | Q(Exists(in_messages)))


# A search walks this many of the list's next conversations testing their messages one by one
# before it asks the words' index for the rest (SearchRank).
SEARCH_WALK = 200


@dataclass(frozen=True)
class ListRank:
    """A rank of the list: its conversations in order (ordered by last activity, then id)."""

    queryset: QuerySet[Conversation]

    def read(self, position: str, count: int) -> list[Conversation]:
        return list(_after(self.queryset, position)[:count])


@dataclass(frozen=True)
class SearchRank:
    """The conversations a message's words match, by last activity, read as PostgreSQL reads
    them fast whatever the word: first a walk over the list's next SEARCH_WALK conversations
    testing their messages (a common word fills the page there: "boleto" in ~6 % of ten million
    messages), then, for the page's rest, the conversations past the walk that the words' index
    names (a rare word: few matches to read). Left to choose, PostgreSQL walked every
    conversation for a word it had never seen (no match at all: 75 s at ten million messages) or
    read every match of a word it thought rare (121,000 for "geladeira": 8.7 s)."""

    queryset: QuerySet[Conversation]  # every filter but the words, ordered
    walked: Exists  # a message of the conversation matches, tested message by message
    indexed: Any  # a condition: a message of the conversation matches, through the index

    def read(self, position: str, count: int) -> list[Conversation]:
        listed = _after(self.queryset, position)
        # Where the walk ends: the SEARCH_WALK-th next conversation (an index range to read).
        edge = listed.values_list("last_activity_at", "pk", "public_id")[SEARCH_WALK - 1:SEARCH_WALK]
        if not edge:  # fewer remain: the walk sees them all
            return list(listed.filter(self.walked)[:count])
        moment, pk, public_id = edge[0]
        walk = listed.filter(Q(last_activity_at__gt=moment) | Q(last_activity_at=moment, pk__gte=pk),
                             last_activity_at__gte=moment)
        rows = list(walk.filter(self.walked)[:count])
        if len(rows) == count:
            return rows
        with search_memory():
            rest = _after(listed, f"{moment.isoformat()}_{public_id}").filter(self.indexed)
            return rows + list(rest[:count - len(rows)])


def conversation_search_ranked(queryset: QuerySet[Conversation], *, access: TenantAccess,
                               text: str) -> list[ListRank | SearchRank]:
    """The same search, best first, as ranks read one after the other: the conversations of the
    contacts whose name, phone or email matched (who is asked for by name is what was meant), then
    those where only a message's words matched. Each rank is read by statements of its own that
    PostgreSQL plans through the right index (the contacts' trigrams; SearchRank), where one OR of
    the two made it walk every conversation testing both (a phone's digits at 10M messages)."""
    text = text.strip()
    queryset = queryset.order_by("-last_activity_at", "-id")
    if not text:
        return [ListRank(queryset)]
    contacts, _ = _search_sides(access=access, text=text)
    matched_contacts = contacts.values("pk")
    hide_deleted = not message_deleted_content_visible(access=access)
    walked = messages_matching(Message.objects.filter(conversation_id=OuterRef("pk")), text, indexed=False)
    if hide_deleted:
        walked = walked.filter(deleted_at__isnull=True)
    return [ListRank(queryset.filter(contact_id__in=matched_contacts)),
            SearchRank(queryset.exclude(contact_id__in=matched_contacts), walked=Exists(walked),
                       indexed=conversation_matched(tenant_id=access.tenant_id, text=text,
                                                    hide_deleted=hide_deleted))]


def message_list(*, conversation: Conversation) -> QuerySet[Message]:
    # Its conversation and the message it replies to come along: their public ids are shown. The
    # conversation is this one, set on each message by the related manager (not read again with
    # every row); the channel's credentials are not decrypted for every message of a list that
    # never uses them.
    # The attachments' queryset is given: Django then only filters it for each message, instead of
    # building each message's related manager first (a thread's 40 messages: 3 ms → 1 ms).
    return conversation.messages.select_related("sender_user", "channel", "reply_to").defer(
        "channel__credentials").prefetch_related(Prefetch("attachments", queryset=Attachment.objects.all()))


def message_visible(*, access: TenantAccess) -> QuerySet[Message]:
    messages = Message.objects.select_related("sender_user", "conversation", "channel", "reply_to").prefetch_related(
        "attachments")
    if not access.sees_all_channels:
        messages = messages.filter(channel_id__in=channel_ids_worked_by(access=access))
    return messages


def attachment_file_visible(*, access: TenantAccess, message_id: int) -> bool:
    """Whether this member may download a file of this message: one they may see, unless its
    sender deleted it for everyone (then only for those who may read what it said)."""
    found = message_visible(access=access).filter(pk=message_id)
    if not message_deleted_content_visible(access=access):
        found = found.filter(deleted_at__isnull=True)
    return found.exists()


# --- The inbox's lists ------------------------------------------------------------------

INBOX_TABS = ("mine", "unassigned", "all")
INBOX_STATUSES = ("open", "pending", "snoozed", "resolved")
INBOX_PAGE_SIZE = 30
# Badges count at most this many conversations; past it they say "999+".
COUNT_CAP = 999
THREAD_PAGE_SIZE = 40


@dataclass(frozen=True)
class InboxFilters:
    """What the list shows; channel, label and team by their public ids (they are in URLs)."""

    tab: str = "mine"
    status: str = "open"
    channel: uuid.UUID | None = None
    label: uuid.UUID | None = None
    team: uuid.UUID | None = None
    search: str = ""

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> InboxFilters:
        tab = query.get("tab", "mine")
        status = query.get("status", "open")
        return cls(
            tab=tab if tab in INBOX_TABS else "mine",
            status=status if status in INBOX_STATUSES else "open",
            channel=uuid_or_none(query.get("channel")), label=uuid_or_none(query.get("label")),
            team=uuid_or_none(query.get("team")),
            search=query.get("q", "").replace("\x00", "").strip()[:200],
        )

    @cached_property
    def querystring(self) -> str:
        """The filters as a URL's query (each row of a list links with it twice: encoded once)."""
        return urlencode(self.query())

    def query(self) -> dict[str, str]:
        values = {"tab": self.tab, "status": self.status, "channel": self.channel, "label": self.label,
                  "team": self.team, "q": self.search}
        return {key: str(value) for key, value in values.items() if value not in (None, "")}


def _inbox_filtered(*, access: TenantAccess, filters: InboxFilters) -> QuerySet[Conversation]:
    """The list's conversations by every filter but the search, unordered."""
    conversations = conversation_list(access=access)
    if filters.tab == "mine":
        conversations = conversations.filter(assignee_id=access.user.pk)
    elif filters.tab == "unassigned":
        conversations = conversations.filter(assignee__isnull=True)
    conversations = conversations.filter(status=filters.status.upper())
    if filters.channel:
        conversations = conversations.filter(channel__public_id=filters.channel)
    if filters.label:
        conversations = conversations.filter(labels__public_id=filters.label)
    if filters.team:
        conversations = conversations.filter(team__public_id=filters.team)
    return conversations


def inbox_conversations(*, access: TenantAccess, filters: InboxFilters) -> QuerySet[Conversation]:
    """Every conversation the list shows, by last activity (a row's membership, the badges)."""
    conversations = _inbox_filtered(access=access, filters=filters)
    if filters.search:
        conversations = conversation_search(conversations, access=access, text=filters.search)
    # A row shows its channel's name and kind: its credentials are not decrypted for each row.
    return conversations.defer("channel__credentials").order_by("-last_activity_at", "-id")


def inbox_ranks(*, access: TenantAccess, filters: InboxFilters) -> list[ListRank | SearchRank]:
    """The list as inbox_page reads it: one rank, or while searching the search's ranks best first
    (conversation_search_ranked), each by last activity."""
    return conversation_search_ranked(_inbox_filtered(access=access, filters=filters), access=access,
                                      text=filters.search)


def _after(queryset: QuerySet[Conversation], position: str) -> QuerySet[Conversation]:
    """The rows after `position` ("<last activity>_<public id>" of the last row shown; "" for
    the first page). Its primary key is read in the same statement (a subquery)."""
    stamp, _, public_id = position.partition("_")
    last = uuid_or_none(public_id)
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return queryset
    if last is None:
        return queryset
    last_pk = Subquery(Conversation.objects.filter(public_id=last).values("pk")[:1])
    # The first term, redundant, makes the condition an index range (a deep page: 482 → 0.06 ms).
    return queryset.filter(Q(last_activity_at__lt=moment) | Q(last_activity_at=moment, pk__lt=last_pk),
                           last_activity_at__lte=moment)


def ranked_page(ranks: list[ListRank | SearchRank], *, after: str = "",
                size: int) -> tuple[list[Conversation], str]:
    """One page of `size` rows (keyset on last activity, then id, within each rank; the ranks one
    after the other) and the cursor of the next, or "". The cursor names the last row's rank and
    the row by its last activity and public id: a few statements per rank read, whatever the
    data (the rows' labels read once for the page)."""
    rank_text, _, position = after.rpartition("~") if "~" in after else ("0", "", after)
    first = int(rank_text) if rank_text.isdigit() and int(rank_text) < len(ranks) else 0
    lookups = ranks[0].queryset._prefetch_related_lookups
    rows: list[tuple[int, Conversation]] = []
    # Planned for their values: which words, which channels, how far down (planned_for_their_values).
    with planned_for_their_values():
        for index in range(first, len(ranks)):
            rank = replace(ranks[index], queryset=ranks[index].queryset.prefetch_related(None))
            rows += [(index, row) for row in rank.read(position if index == first else "", size + 1 - len(rows))]
            if len(rows) > size:
                break
    more = len(rows) > size
    rows = rows[:size]
    prefetch_related_objects([row for _, row in rows], *lookups)
    cursor = ""
    if more:
        rank_index, last = rows[-1]
        cursor = f"{last.last_activity_at.isoformat()}_{last.public_id}"
        cursor = f"{rank_index}~{cursor}" if len(ranks) > 1 else cursor
    return [row for _, row in rows], cursor


def inbox_page(ranks: list[ListRank | SearchRank], *, after: str = "") -> tuple[list[Conversation], str]:
    """One page of the inbox's list (ranked_page)."""
    return ranked_page(ranks, after=after, size=INBOX_PAGE_SIZE)


def inbox_rows_mark_matches(rows: list[Conversation], *, access: TenantAccess, text: str) -> list[Conversation]:
    """While searching, each row shows the newest message that matched (`search_snippet`, the
    match marked) instead of the conversation's last message: one statement for the page."""
    if text.strip():
        snippets = search_snippets(conversation_ids=[row.pk for row in rows], text=text.strip(),
                                   hide_deleted=not message_deleted_content_visible(access=access))
        for row in rows:
            row.search_snippet = snippets.get(row.pk)  # type: ignore[attr-defined]
    return rows


def capped_count(queryset: QuerySet[Any]) -> int:
    """The rows of `queryset`, exact up to COUNT_CAP and COUNT_CAP + 1 beyond: the database stops
    after COUNT_CAP + 1 rows (a LIMIT inside the COUNT), so a badge never scans a large table.
    Planned for its values each time (config.sql): the generic plan of a count of an agent's
    channels is a scan of the whole table."""
    with planned_for_their_values():
        return queryset.order_by().values("pk")[:COUNT_CAP + 1].count()


def count_label(count: int) -> str:
    """A badge's text: the count, or "999+" past the cap."""
    return f"{COUNT_CAP}+" if count > COUNT_CAP else str(count)


def inbox_tab_counts(*, access: TenantAccess, filters: InboxFilters) -> dict[str, str]:
    """Each tab's badge with the other filters as they are: three capped counts, whatever the
    number of rows. While searching there are none (a search's matches are not counted: the list
    shows them)."""
    if filters.search:
        return dict.fromkeys(INBOX_TABS, "")
    return {tab: count_label(capped_count(inbox_conversations(access=access, filters=replace(filters, tab=tab))))
            for tab in INBOX_TABS}


def inbox_unread_count(*, access: TenantAccess) -> int:
    """Conversations waiting with unread messages, for the page title (capped: count_label)."""
    return capped_count(conversation_list(access=access).filter(
        unread_count__gt=0, status__in=[Conversation.Status.OPEN, Conversation.Status.PENDING]))


def thread_messages(*, conversation: Conversation, before: uuid.UUID | None = None) -> tuple[list[Message], bool]:
    """The latest messages (or those before the message of public id `before`), oldest first,
    and whether older ones exist."""
    messages = message_list(conversation=conversation).order_by("-created_at", "-id")
    if before:
        anchor = Message.objects.filter(conversation=conversation, public_id=before).values_list(
            "created_at", "pk").first()
        if anchor is not None:
            messages = messages.filter(Q(created_at__lt=anchor[0]) | Q(created_at=anchor[0], pk__lt=anchor[1]))
    rows = list(messages[: THREAD_PAGE_SIZE + 1])
    return list(reversed(rows[:THREAD_PAGE_SIZE])), len(rows) > THREAD_PAGE_SIZE


# --- Teams, labels, canned responses ------------------------------------------------------


def team_list(*, access: TenantAccess) -> QuerySet[Team]:
    """The tenant's teams, each with `members_count`, its active channels and its members (in two
    queries whatever their number)."""
    return Team.objects.annotate(members_count=Count("members", distinct=True)).prefetch_related(
        # An archived channel is worked by nobody any more (it stays linked, should it come back).
        Prefetch("channels", queryset=Channel.all_objects.filter(archived_at__isnull=True).order_by("name")),
        Prefetch("members", queryset=User.objects.order_by("full_name", "email")),
    ).order_by("name", "id")


def label_list(*, access: TenantAccess) -> QuerySet[Label]:
    """The tenant's labels, each with `conversations_count` (every conversation of the tenant
    that carries it)."""
    return Label.objects.annotate(conversations_count=Count("conversations")).order_by("name", "id")


def canned_response_list(*, access: TenantAccess, search: str = "") -> QuerySet[CannedResponse]:
    """The tenant's canned responses by short code; `search` finds text in the code or the content."""
    responses = CannedResponse.objects.order_by("short_code", "id")
    text = search.strip().lstrip("/")
    if text:
        responses = responses.filter(Q(short_code__icontains=text) | Q(content__icontains=text))
    return responses
