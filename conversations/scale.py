"""A large, realistic tenant loaded fast (`manage.py seed_scale`): for demos at size and for the
scale benchmark (`python -m benchmarks.scale`). PostgreSQL only.

What it makes, in one tenant: an admin and agents (each agent works some of the channels),
several channels of different kinds, teams, labels, contacts with Brazilian names, phones and
emails, and `conversations` conversations holding `messages` messages in all:

- most conversations have 1 to 10 messages; about 3 % have 20 to 300, about 0.1 % 500 to 2,500,
  and one (the "long" one, assigned to the first agent, open) exactly 2,000;
- statuses mostly RESOLVED; the recent conversations are the ones still OPEN, PENDING or SNOOZED;
- a third of the conversations carry one or two labels; most have an assignee;
- messages alternate between the contact and the agent, in Portuguese (conversations.scale_phrases:
  boleto, pedido, entrega, pix, numbers...), over the last year, in the order they were written.

How it is fast: the per-conversation plan (how many messages, which channel, contact, status...)
is drawn in Python and sent with one COPY; contacts, conversations and messages are each one
INSERT ... SELECT over generate_series on the server, messages sorted by time as they would have
arrived; the secondary indexes of those tables are dropped during the load and built again after
it (in bulk, which is far cheaper than keeping them up to date row by row), and, for a superuser,
the foreign-key triggers are off during the inserts (`session_replication_role = replica`: the
rows are made consistent by construction, and checked after). Public ids are UUIDv7 of each row's
own time, made in SQL, so they sort as the rows were created, as the product's own do."""

from __future__ import annotations

import io
import random
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Membership, Role, User
from channels_app.kinds import kinds_available
from channels_app.models import Channel
from channels_app.services import channel_access_grant
from contacts.models import Contact, ContactIdentity
from contacts.search import search_fold
from conversations import scale_phrases as phrases
from conversations.models import Conversation, Label, Message, Team
from tenants.models import Tenant

CHANNELS = 6
AGENTS = 20
# Each agent works this many of the channels (the first agent works the long conversation's).
CHANNELS_PER_AGENT = 3
TEAMS = ("Vendas", "Suporte", "Financeiro")
LONG_THREAD = 2000
SPAN = timedelta(days=365)
# The share of the year at its end whose conversations may still be open.
RECENT_SHARE = 0.04


class ScaleSeedError(Exception):
    """The seed cannot run (not PostgreSQL, the tenant exists, impossible figures): said plainly."""


@dataclass
class ScaleSeedResult:
    tenant: Tenant
    admin: User
    agent: User
    password: str
    long_conversation: Conversation
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    database_bytes: int = 0


@dataclass(frozen=True)
class ConversationPlan:
    index: int
    messages: int
    channel: int
    contact: int
    status: str
    assignee: int | None
    team: int | None
    priority: str
    started_at: datetime
    step_seconds: int
    unread: int


def message_counts(*, conversations: int, messages: int, long_index: int, rng: random.Random) -> list[int]:
    """How many messages each conversation has, adding up to `messages` exactly (see the module).
    The short ones take what the long and medium ones leave, within 1 to 10 where the total allows."""
    if conversations < 1 or messages < conversations:
        raise ScaleSeedError("Every conversation needs at least one message: ask for at least as many messages "
                             "as conversations.")
    counts = [0] * conversations
    budget = messages - conversations  # beyond each conversation's first message
    long_thread = min(LONG_THREAD, 1 + budget)
    counts[long_index] = long_thread
    budget -= long_thread - 1
    for index in range(conversations):
        if index == long_index:
            continue
        roll = rng.random()
        wanted = rng.randint(500, 2500) if roll < 0.001 else rng.randint(20, 300) if roll < 0.03 else 0
        extra = min(budget, max(wanted - 1, 0))
        counts[index] = 1 + extra
        budget -= extra
    short = [index for index in range(conversations) if counts[index] == 1]
    rng.shuffle(short)
    # The rest is spread over the short ones up to 10 messages each, in rounds; what still remains
    # (a total far above ten a conversation) goes to the medium ones.
    while budget > 0 and short:
        room = [index for index in short if counts[index] < 10]
        if not room:
            break
        share = max(1, budget // len(room))
        for index in room:
            add = min(budget, rng.randint(0, min(2 * share, 10 - counts[index])))
            counts[index] += add
            budget -= add
            if budget == 0:
                break
    index = 0
    while budget > 0:
        if index != long_index:
            counts[index] += 1
            budget -= 1
        index = (index + 1) % conversations
    return counts


def conversation_plans(*, conversations: int, messages: int, contacts: int, channel_ids: list[int],
                       agents_by_channel: dict[int, list[int]], team_ids: list[int], long_index: int,
                       long_channel: int, long_agent: int, now: datetime, seed: int) -> Iterator[ConversationPlan]:
    """One plan per conversation, oldest first (see the module for the distribution)."""
    rng = random.Random(seed)
    counts = message_counts(conversations=conversations, messages=messages, long_index=long_index, rng=rng)
    start = now - SPAN
    for index, count in enumerate(counts):
        started_at = start + SPAN * (index / conversations) + timedelta(seconds=rng.randint(0, 600))
        recent = index >= conversations * (1 - RECENT_SHARE)
        assignee: int | None
        if index == long_index:
            channel, assignee, status = long_channel, long_agent, Conversation.Status.OPEN
        else:
            channel = rng.choice(channel_ids)
            roll = rng.random()
            if recent:
                status = (Conversation.Status.OPEN if roll < 0.55 else Conversation.Status.PENDING if roll < 0.75
                          else Conversation.Status.SNOOZED if roll < 0.8 else Conversation.Status.RESOLVED)
            else:
                status = (Conversation.Status.RESOLVED if roll < 0.985 else Conversation.Status.OPEN if roll < 0.995
                          else Conversation.Status.PENDING)
            assignee = None if rng.random() < (0.3 if status == Conversation.Status.OPEN else 0.1) else \
                rng.choice(agents_by_channel[channel])
        # A long conversation's messages come minutes apart, a short one's within the hour.
        step = rng.randint(20, 600) if count <= 10 else rng.randint(60, 1800)
        if started_at + timedelta(seconds=step * (count - 1)) > now:
            step = max(1, int((now - started_at).total_seconds() // max(count, 2)))
        yield ConversationPlan(
            index=index, messages=count, channel=channel,
            # Most contacts have one conversation, some come back: a contact is drawn among those of the
            # recent past more often than not.
            contact=min(contacts - 1, int(index * contacts / conversations)) if rng.random() < 0.7
            else rng.randrange(contacts),
            status=status, assignee=assignee,
            team=rng.choice(team_ids) if team_ids and rng.random() < 0.4 else None,
            priority=rng.choices(list(Conversation.Priority.values), weights=(80, 5, 8, 5, 2))[0],
            started_at=started_at, step_seconds=step,
            unread=rng.randint(1, 3) if status in (Conversation.Status.OPEN, Conversation.Status.PENDING)
            and count % 2 == 1 else 0,
        )


# --- SQL -------------------------------------------------------------------------------------------

# A UUIDv7 of a moment (RFC 9562: 48 bits of Unix milliseconds, the version, random bits, the
# variant), as config.ids.uuid7_at makes in Python.
_UUID7_FUNCTION = """
CREATE OR REPLACE FUNCTION pg_temp.scale_uuid7(moment timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex(floor(extract(epoch FROM moment) * 1000)::bigint), 12, '0') || '7'
          || substr(md5(random()::text), 1, 3) || to_hex(8 + floor(random() * 4)::int)
          || substr(md5(random()::text), 1, 15))::uuid
$$"""

# A hash of a conversation's index, a message's position in it and a salt (PostgreSQL's own
# hashint8, non-negative): what the message says, who wrote it, its number and amount; cheap, and
# the same wherever it is computed.
_H = "(hashint8((({i})::bigint * 1000003 + ({seq})) * 64 + {salt}) & 2147483647)"


def _hash(i: str, seq: str, salt: int) -> str:
    return _H.format(i=i, seq=seq, salt=salt)


def _content(i: str, seq: str, phrase: str) -> str:
    """The message's text: its phrase with the order number, amount and day filled in."""
    return (f"replace(replace(replace({phrase}, '{{n}}', (100000 + {_hash(i, seq, 7)} %% 900000)::text), "
            f"'{{v}}', (19 + {_hash(i, seq, 11)} %% 2000)::text || ',90'), "
            f"'{{d}}', (1 + {_hash(i, seq, 13)} %% 28)::text)")


def _inbound(i: str, seq: str) -> str:
    """The first message is the contact's; then the contact writes about half of them."""
    return f"({seq} = 1 OR {_hash(i, seq, 3)} %% 100 < 48)"


def phrase_rows() -> tuple[list[str], list[str]]:
    """The contact's phrases (an opener and a sentence, or a sentence) and the agent's (one
    sentence, or two)."""
    customer = [*phrases.CUSTOMER_SENTENCES,
                *(f"{opener} {sentence}" for opener in phrases.CUSTOMER_OPENERS for sentence in phrases.CUSTOMER_SENTENCES)]
    agent = [*phrases.AGENT_SENTENCES,
             *(f"{first} {second}" for n, first in enumerate(phrases.AGENT_SENTENCES)
               for second in phrases.AGENT_SENTENCES[n + 1:n + 8])]
    return customer, agent


def _execute(sql: str, params: Any = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _fetch(sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _copy(table: str, columns: list[str], rows: Iterator[tuple[object, ...]]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if value is None else str(value) for value in row) + "\n")
    buffer.seek(0)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def _ids_reserve(model: type, count: int) -> int:
    """The first of `count` consecutive primary keys taken from the table's sequence for rows
    inserted with explicit ids (base + 1 .. base + count)."""
    table = model._meta.db_table  # type: ignore[attr-defined]
    sequence = _fetch("SELECT pg_get_serial_sequence(%s, 'id')", [table])[0][0]
    # nextval then setval in one statement: no other writer can take an id in between unseen.
    base = _fetch(f"SELECT setval('{sequence}', nextval('{sequence}') + %s - 1, true) - %s + 1", [count, count])[0][0]
    return int(base) - 1


@contextmanager
def indexes_deferred(models: list[type]) -> Iterator[list[str]]:
    """The secondary indexes of these tables dropped meanwhile, and built again after. Inside the
    load's transaction: should the load fail, its rollback brings them back as they were. Indexes
    that back a constraint (primary keys, unique constraints) stay."""
    definitions: list[tuple[str, str]] = []
    for model in models:
        table = model._meta.db_table  # type: ignore[attr-defined]
        definitions += [(str(name), str(sql)) for name, sql in _fetch(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)", [table])]
    for name, _sql in definitions:
        _execute(f'DROP INDEX IF EXISTS "{name}"')
    yield [name for name, _sql in definitions]
    _execute("SET LOCAL maintenance_work_mem = '1GB'")
    for _name, sql in definitions:
        _execute(sql)


# --- The seed --------------------------------------------------------------------------------------


def scale_seed(*, slug: str, conversations: int, messages: int, seed: int = 1,
               password: str | None = None, say: Callable[[str], None] = lambda line: None) -> ScaleSeedResult:
    """Load the tenant `slug` (see the module). Refuses on another database than PostgreSQL and
    when the tenant exists."""
    if connection.vendor != "postgresql":
        raise ScaleSeedError("seed_scale loads with PostgreSQL's COPY and generate_series: run it with "
                             "DATABASE_URL set to a PostgreSQL database.")
    if Tenant.objects.filter(slug=slug).exists():
        raise ScaleSeedError(f"A tenant {slug!r} exists already: choose another --slug (or drop that database).")
    if messages < conversations or conversations < 1:
        raise ScaleSeedError("Ask for at least one conversation and at least as many messages as conversations.")
    password = password or secrets.token_urlsafe(12)
    timings: dict[str, float] = {}
    started = time.monotonic()

    def step(name: str, since: float) -> float:
        now = time.monotonic()
        timings[name] = now - since
        say(f"  {name}: {now - since:.1f} s")
        return now

    now = timezone.now()
    superuser = bool(_fetch("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0])
    # One transaction: a load that fails leaves nothing behind (and its indexes as they were).
    with transaction.atomic():
        tenant, admin, agents, channels, teams, labels = _workspace(slug=slug, password=password)
        mark = step("tenant, members, channels, teams, labels", started)
        channel_ids = [channel.pk for channel in channels]
        agents_by_channel: dict[int, list[int]] = {pk: [] for pk in channel_ids}
        for number, agent in enumerate(agents):
            for offset in range(CHANNELS_PER_AGENT):
                agents_by_channel[channel_ids[(number + offset) % len(channel_ids)]].append(agent.pk)
        contact_count = max(1, int(conversations * 0.7))
        long_index = conversations - max(1, conversations // 200)  # recent: near the top of the open list
        _execute("SET LOCAL work_mem = '256MB'")
        _execute(_UUID7_FUNCTION)
        if superuser:
            _execute("SET LOCAL session_replication_role = replica")
        with indexes_deferred([Contact, ContactIdentity, Conversation, Message]):
            contact_base = _contacts_insert(tenant=tenant, count=contact_count, channel_ids=channel_ids, now=now)
            mark = step(f"{contact_count:,} contacts and their identities", mark)
            conversation_base = _ids_reserve(Conversation, conversations)
            _execute("CREATE TEMPORARY TABLE scale_plan (i int PRIMARY KEY, n int, channel_id bigint, contact_id bigint, "
                     "status text, assignee_id bigint, team_id bigint, priority text, started_at timestamptz, "
                     "step int, unread int) ON COMMIT DROP")
            plans = conversation_plans(
                conversations=conversations, messages=messages, contacts=contact_count, channel_ids=channel_ids,
                agents_by_channel=agents_by_channel, team_ids=[team.pk for team in teams], long_index=long_index,
                long_channel=channel_ids[0], long_agent=agents[0].pk, now=now, seed=seed)
            _copy("scale_plan", ["i", "n", "channel_id", "contact_id", "status", "assignee_id", "team_id", "priority",
                                 "started_at", "step", "unread"],
                  ((plan.index, plan.messages, plan.channel, contact_base + 1 + plan.contact, plan.status,
                    plan.assignee, plan.team, plan.priority, plan.started_at.isoformat(), plan.step_seconds,
                    plan.unread) for plan in plans))
            _execute("ANALYZE scale_plan")
            mark = step("conversation plan (COPY)", mark)
            _phrases_table()
            _conversations_insert(tenant=tenant, base=conversation_base)
            _labels_insert(labels=labels, base=conversation_base)
            mark = step(f"{conversations:,} conversations and their labels", mark)
            _messages_insert(tenant=tenant, base=conversation_base)
            mark = step(f"{messages:,} messages", mark)
        mark = step("indexes built again", mark)
        if superuser:
            _execute("SET LOCAL session_replication_role = DEFAULT")
            orphans = _fetch(
                f"SELECT count(*) FROM {Message._meta.db_table} m WHERE m.tenant_id = %s AND NOT EXISTS "
                f"(SELECT 1 FROM {Conversation._meta.db_table} c WHERE c.id = m.conversation_id)", [tenant.pk])[0][0]
            if orphans:
                raise ScaleSeedError(f"{orphans} messages have no conversation: the load is rolled back.")
            mark = step("references checked", mark)
    for model in (Contact, ContactIdentity, Conversation, Message):
        _execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
    _execute(f"ANALYZE {Conversation.labels.through._meta.db_table}")
    mark = step("VACUUM ANALYZE", mark)
    timings["total"] = time.monotonic() - started
    long_conversation = Conversation.all_objects.get(pk=conversation_base + 1 + long_index)
    counts = {
        "contacts": contact_count, "conversations": conversations, "messages": messages,
        "agents": len(agents), "channels": len(channels),
    }
    size = int(_fetch("SELECT pg_database_size(current_database())")[0][0])
    # What the scale benchmark reports of the load, and the conversation whose thread it times.
    tenant.settings = {**tenant.settings, "scale_seed": {
        **counts, "total_seconds": round(timings["total"], 1), "seconds": {k: round(v, 1) for k, v in timings.items()},
        "database_bytes": size, "long_conversation": str(long_conversation.public_id)}}
    tenant.save(update_fields=["settings"])
    return ScaleSeedResult(tenant=tenant, admin=admin, agent=agents[0], password=password,
                           long_conversation=long_conversation, counts=counts, seconds=timings, database_bytes=size)


def _workspace(*, slug: str, password: str) -> tuple[Tenant, User, list[User], list[Channel], list[Team], list[Label]]:
    tenant = Tenant.objects.create(name=f"Loja {slug}", slug=slug, status=Tenant.Status.ACTIVE, plan="scale",
                                   max_channels=0, max_agents=0, max_messages_per_month=0)
    hashed = make_password(password)
    domain = f"{slug}.example.com"
    admin = User.objects.create(email=f"admin@{domain}", password=hashed, full_name="Admin da Loja")
    Membership.all_objects.create(tenant=tenant, user=admin, role=Role.TENANT_ADMIN)
    agents = []
    for number in range(AGENTS):
        first = phrases.FIRST_NAMES[number % len(phrases.FIRST_NAMES)]
        agent = User.objects.create(email=f"agent{number + 1}@{domain}", password=hashed,
                                    full_name=f"{first} (atendimento)")
        Membership.all_objects.create(tenant=tenant, user=agent, role=Role.AGENT)
        agents.append(agent)
    kinds = [kind.value for kind in kinds_available()] or ["api"]
    channels = [Channel.all_objects.create(tenant=tenant, kind=kinds[number % len(kinds)],
                                           name=f"Canal {number + 1} ({kinds[number % len(kinds)]})",
                                           status=Channel.Status.CONNECTED)
                for number in range(CHANNELS)]
    for number, agent in enumerate(agents):
        for offset in range(CHANNELS_PER_AGENT):
            channel_access_grant(channel=channels[(number + offset) % len(channels)], user=agent, actor=admin)
    teams = [Team.all_objects.create(tenant=tenant, name=name) for name in TEAMS]
    for number, team in enumerate(teams):
        team.members.set(agents[number::len(teams)])
    labels = [Label.all_objects.create(tenant=tenant, name=name) for name in phrases.LABELS]
    return tenant, admin, agents, channels, teams, labels


def _contacts_insert(*, tenant: Tenant, count: int, channel_ids: list[int], now: datetime) -> int:
    """Contacts base + 1 .. base + count: a name (first and last), a mobile phone each (distinct),
    an email for half of them; their search text as contacts.search makes it; one identity each
    on a channel. The base."""
    base = _ids_reserve(Contact, count)
    first, last = phrases.FIRST_NAMES, phrases.LAST_NAMES
    contact, identity = Contact._meta.db_table, ContactIdentity._meta.db_table
    # Phone digits: 55, an area code, 9 and eight digits distinct per contact (k * 7919 mod 10^8).
    digits = ("('55' || (%(areas)s::int[])[1 + k %% array_length(%(areas)s::int[], 1)]::text || '9' "
              "|| lpad(((k::bigint * 7919 + 12345678) %% 100000000)::text, 8, '0'))")
    name = "((%(first)s::text[])[1 + k %% %(nf)s] || ' ' || (%(last)s::text[])[1 + (k / %(nf)s) %% %(nl)s])"
    folded = "((%(ffirst)s::text[])[1 + k %% %(nf)s] || ' ' || (%(flast)s::text[])[1 + (k / %(nf)s) %% %(nl)s])"
    email = (f"CASE WHEN k %% 2 = 0 THEN lower(translate({folded}, ' ', '.')) || '.' || k || '@exemplo.com.br' "
             "ELSE '' END")
    params = {"areas": list(phrases.AREA_CODES), "first": list(first), "last": list(last),
              "ffirst": [search_fold(n) for n in first], "flast": [search_fold(n) for n in last],
              "nf": len(first), "nl": len(last), "tenant": tenant.pk, "base": base, "count": count,
              "now": now, "span": SPAN}
    _execute(
        f"INSERT INTO {contact} (id, tenant_id, public_id, name, phone, email, language, attributes, picture_url, "
        "name_set_by_hand, consent_source, search_text, created_at, updated_at) "
        f"SELECT %(base)s + k, %(tenant)s, pg_temp.scale_uuid7(t), {name}, '+' || {digits}, e, 'pt-br', '{{}}', '', "
        f"false, '', concat_ws(' ', {folded}, nullif(e, ''), {digits}), t, t "
        f"FROM (SELECT k, %(now)s::timestamptz - %(span)s::interval * (1 - k::float / %(count)s) AS t, {email} AS e "
        "FROM generate_series(1, %(count)s) k) c", params)
    _execute(
        f"INSERT INTO {identity} (tenant_id, contact_id, channel_id, external_id, created_at) "
        f"SELECT %(tenant)s, %(base)s + k, (%(channels)s::bigint[])[1 + k %% %(nc)s], {digits}, %(now)s "
        "FROM generate_series(1, %(count)s) k",
        {**params, "channels": channel_ids, "nc": len(channel_ids)})
    return base


def _phrases_table() -> None:
    customer, agent = phrase_rows()
    _execute("CREATE TEMPORARY TABLE scale_phrase (inbound boolean, i int, t text, PRIMARY KEY (inbound, i)) "
             "ON COMMIT DROP")
    _copy("scale_phrase", ["inbound", "i", "t"],
          ((inbound, number, text) for inbound, texts in ((True, customer), (False, agent))
           for number, text in enumerate(texts)))
    _execute("ANALYZE scale_phrase")


def _phrase_join(i: str, seq: str) -> str:
    """The join that gives a message its phrase `p` (and `p.inbound`, whether the contact wrote it)."""
    customer, agent = phrase_rows()
    inbound = _inbound(i, seq)
    return (f"JOIN scale_phrase p ON p.inbound = {inbound} AND p.i = {_hash(i, seq, 5)} %% "
            f"CASE WHEN {inbound} THEN {len(customer)} ELSE {len(agent)} END")


def _conversations_insert(*, tenant: Tenant, base: int) -> None:
    table = Conversation._meta.db_table
    last = "(s.started_at + make_interval(secs => s.step::float8 * (s.n - 1)))"
    _execute(
        f"INSERT INTO {table} (id, tenant_id, public_id, channel_id, contact_id, status, assignee_id, team_id, "
        "priority, snoozed_until, last_activity_at, last_inbound_at, last_message_preview, unread_count, "
        "created_at, updated_at) "
        f"SELECT %s + 1 + s.i, %s, pg_temp.scale_uuid7(s.started_at), s.channel_id, s.contact_id, s.status, "
        f"s.assignee_id, s.team_id, s.priority, CASE WHEN s.status = 'SNOOZED' THEN now() + interval '2 days' END, "
        f"{last}, {last} - CASE WHEN p.inbound THEN interval '0' ELSE make_interval(secs => s.step) END, "
        f"left({_content('s.i', 's.n', 'p.t')}, 200), s.unread, s.started_at, {last} "
        f"FROM scale_plan s {_phrase_join('s.i', 's.n')} ORDER BY s.i",
        [base, tenant.pk])


def _labels_insert(*, labels: list[Label], base: int) -> None:
    """One label on a third of the conversations, a second one on some of those."""
    through = Conversation.labels.through._meta.db_table
    ids = [label.pk for label in labels]
    _execute(
        f"INSERT INTO {through} (conversation_id, label_id) "
        "SELECT %s + 1 + s.i, l.id FROM scale_plan s CROSS JOIN LATERAL (SELECT (%s::bigint[])[1 + s.i %% %s] AS id "
        "UNION SELECT (%s::bigint[])[1 + (s.i / 7) %% %s] WHERE s.i %% 4 = 0) l WHERE s.i %% 3 = 0",
        [base, ids, len(ids), ids, len(ids)])


def _messages_insert(*, tenant: Tenant, base: int) -> None:
    """Every conversation's messages, sorted by time over all conversations (the order in which a
    live tenant's table fills), so a thread's messages lie on as many pages as in production."""
    table = Message._meta.db_table
    at = "(s.started_at + make_interval(secs => s.step::float8 * (g.seq - 1)))"
    content = _content("s.i", "g.seq", "p.t")
    h = _hash("s.i", "g.seq", 17)
    _execute(
        f"INSERT INTO {table} (tenant_id, public_id, conversation_id, channel_id, direction, sender_type, "
        "sender_user_id, type, content, content_attributes, metadata, private, status, error_code, error_message, "
        "provider_message_id, created_at, updated_at, sent_at, delivered_at, read_at, send_attempts) "
        f"SELECT %s, pg_temp.scale_uuid7({at}), %s + 1 + s.i, s.channel_id, "
        "CASE WHEN p.inbound THEN 'INBOUND' ELSE 'OUTBOUND' END, "
        f"CASE WHEN p.inbound THEN 'CONTACT' WHEN {h} %% 20 = 0 THEN 'BOT' ELSE 'AGENT' END, "
        f"CASE WHEN NOT p.inbound AND {h} %% 20 <> 0 THEN s.assignee_id END, "
        f"CASE WHEN {h} %% 100 < 3 THEN 'IMAGE' WHEN {h} %% 100 < 5 THEN 'DOCUMENT' ELSE 'TEXT' END, "
        f"{content}, '{{}}', '{{}}', NOT p.inbound AND {h} %% 100 = 99, "
        f"CASE WHEN p.inbound THEN 'DELIVERED' WHEN {h} %% 200 = 7 THEN 'FAILED' "
        f"WHEN {at} > now() - interval '1 day' THEN 'DELIVERED' ELSE 'READ' END, "
        f"CASE WHEN NOT p.inbound AND {h} %% 200 = 7 THEN '131047' ELSE '' END, "
        f"CASE WHEN NOT p.inbound AND {h} %% 200 = 7 THEN 'Re-engagement message' ELSE '' END, "
        "'scale.' || (s.i + 1) || '.' || g.seq, "
        f"{at}, {at}, CASE WHEN NOT p.inbound THEN {at} END, CASE WHEN NOT p.inbound THEN {at} END, "
        f"CASE WHEN NOT p.inbound THEN {at} + interval '1 minute' END, 0 "
        "FROM scale_plan s CROSS JOIN LATERAL generate_series(1, s.n) g(seq) "
        f"{_phrase_join('s.i', 'g.seq')} ORDER BY {at}",
        [tenant.pk, base])
