"""What providers delivered, recorded: the one receive path into the core.

`messages_receive` takes, per channel, the messages contacts sent, the statuses of messages
sent to them and the messages their senders deleted for everyone, and records all of it in the
caller's transaction: contacts and conversations found or made, messages stored once (the unique
(channel, provider id) makes a redelivery or a concurrent duplicate harmless), conversations
moved along, statuses moved forward, deletions marked once, the tenant's monthly count, and one
event per change. `message_receive` is its
one-message case."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from django.db import transaction
from django.utils import timezone

from channels_app.models import Channel
from config.ids import as_uuid, uuid_or_none
from config.sql import fetch_all, for_update, insert, one_of
from contacts.models import Contact, ContactIdentity
from contacts.services import contact_identity_resolve
from conversations.events import ConversationCreated, ConversationStatusChanged, MessageCreated, MessageUpdated
from conversations.incoming import ChannelInbound, IncomingDeletion, IncomingMessage, IncomingStatus
from conversations.models import Conversation, Message
from conversations.services.common import conversations_touch, message_ids, touches_for
from conversations.services.statuses import (
    DELIVERY_UNKNOWN,
    StatusChange,
    message_statuses_advance,
    messages_lock_for_statuses,
)
from tenants.events import DomainEvent, publish, publish_many
from tenants.models import Tenant
from tenants.services import tenant_record_messages

# A contact's message to one of these reopens the conversation.
_REOPENED_BY_CONTACT = (Conversation.Status.RESOLVED, Conversation.Status.SNOOZED)
# A contact's message, and one the channel's own account sent from elsewhere (the paired phone):
# outgoing, already sent, and not the contact's (it neither reopens nor counts as unread).
_FROM_CONTACT = {"direction": Message.Direction.INBOUND, "sender_type": Message.SenderType.CONTACT,
                 "status": Message.Status.DELIVERED}
_FROM_ME = {"direction": Message.Direction.OUTBOUND, "sender_type": Message.SenderType.AGENT,
            "status": Message.Status.SENT}


class _Open(NamedTuple):
    """A conversation a sender's messages join, as this path read it."""

    pk: int
    public_id: uuid.UUID
    status: str


@dataclass(frozen=True)
class Received:
    message: Message
    created: bool  # False: stored before (a redelivery), or earlier in the same batch


@dataclass(frozen=True)
class ChannelReceived:
    messages: list[Received]  # one per IncomingMessage given, in order
    unknown_statuses: list[IncomingStatus]  # statuses of messages the channel does not have


def messages_receive(*, inbound: Sequence[ChannelInbound]) -> list[ChannelReceived]:
    """Record what providers delivered (see the module), in the caller's transaction or in one
    of its own, in a handful of statements whatever the batch's size. Inbound messages are
    always stored, whatever the plan's usage. Returns one ChannelReceived per entry, in order.

    Locks are taken in one order by every batch, so that concurrent batches wait for each
    other instead of deadlocking: channels in id order; in each, the open conversations of
    known senders in id order, then new senders' contacts in address order (each followed by
    its conversation, before any message is written to it); then the messages
    the statuses and deletions are about, in id order; last the tenants' usage rows. (One
    exception: the conversation whose newest message was deleted has its preview emptied after
    that message is locked. It could make two batches wait for each other; PostgreSQL then
    fails one, and its events are processed again, one at a time.)"""
    with transaction.atomic(savepoint=False):
        order = sorted(range(len(inbound)), key=lambda index: inbound[index].channel.pk)
        stored: dict[int, int] = {}
        received = {index: _messages(inbound[index].channel, inbound[index].messages, stored) for index in order}
        unknown = _statuses([inbound[index] for index in order])
        # The counter is one row per tenant: taken last and held the shortest, it makes a
        # concurrent batch of the tenant wait for this one's commit only.
        for tenant_id in sorted(stored):
            tenant_record_messages(tenant=Tenant(pk=tenant_id), count=stored[tenant_id])
    return [ChannelReceived(messages=received[index], unknown_statuses=unknown[id(inbound[index])])
            for index in range(len(inbound))]


def message_receive(*, channel: Channel, message: IncomingMessage) -> tuple[Message, bool]:
    """One message a contact sent: the stored message, and whether it was stored now."""
    (outcome,) = messages_receive(inbound=[ChannelInbound(channel=channel, messages=[message])])
    return outcome.messages[0].message, outcome.messages[0].created


def _messages(channel: Channel, messages: Sequence[IncomingMessage], stored: dict[int, int]) -> list[Received]:
    # The reads of this hot path are plain SQL: through the ORM, compiling each one cost more
    # CPU than running it (~1 ms each on a small machine, for every batch of one message).
    if not messages:
        return []
    fresh: dict[str, IncomingMessage] = {}
    for message in messages:  # the first of each id
        fresh.setdefault(message.provider_message_id, message)
    senders = sorted({message.contact_external_id for message in fresh.values()})
    conversations = _open_conversations(channel, senders)
    for sender in senders:  # new senders, and those without an open conversation: one at a time
        if sender not in conversations:
            theirs = [message for message in fresh.values() if message.contact_external_id == sender]
            started = min((message.sent_at for message in theirs if message.sent_at), default=None)
            conversations[sender] = _conversation_of_new_sender(channel, theirs[0], started=started)
    if any(message.contact_aliases for message in fresh.values()):
        _aliases_record(channel, fresh.values())
    reply_ids = sorted({message.reply_to_provider_id for message in fresh.values() if message.reply_to_provider_id})
    replied = _ids_by_provider_id(channel, reply_ids)
    batch = [Message(
        tenant_id=channel.tenant_id, conversation_id=conversations[message.contact_external_id].pk, channel=channel,
        **(_FROM_ME if message.from_me else _FROM_CONTACT), type=message.type,
        content=message.content or "", content_attributes=dict(message.content_attributes),
        provider_message_id=message.provider_message_id,
        created_at=message.sent_at or timezone.now(),
        reply_to_id=replied.get(message.reply_to_provider_id or ""),
    ) for message in fresh.values()]
    inserted = insert(batch, conflicts_by="provider_message_id")
    found: dict[str, tuple[Message, bool]] = {_provider_id(message): (message, True) for message in inserted}
    if len(inserted) < len(batch):  # stored before, or by a concurrent delivery (committed by now)
        lost = [message.provider_message_id for message in batch if message.provider_message_id not in found]
        found.update((_provider_id(message), (message, False)) for message in Message.all_objects.filter(
            channel=channel, provider_message_id__in=lost).order_by())
    _link_replies_within(inserted, fresh, found)
    if inserted:
        by_pk = {conversation.pk: conversation for conversation in conversations.values()}
        reopened = {pk for pk, conversation in by_pk.items() if conversation.status in _REOPENED_BY_CONTACT}
        joined = {message.conversation_id for message in inserted if message.direction == Message.Direction.INBOUND}
        reopen = frozenset(reopened) & joined
        conversations_touch(tenant_id=channel.tenant_id, touches=touches_for(inserted, reopen=reopen))
        channel_id = str(channel.public_id)
        events: list[DomainEvent] = [ConversationStatusChanged(
            tenant_pk=channel.tenant_id, conversation_pk=pk, channel_pk=channel.pk,
            conversation_id=str(by_pk[pk].public_id), channel_id=channel_id,
            old_status=by_pk[pk].status, new_status=Conversation.Status.OPEN, actor_id=None,
        ) for pk in sorted(reopen)]
        events += [MessageCreated(
            tenant_pk=channel.tenant_id, message_pk=message.pk, conversation_pk=message.conversation_id,
            channel_pk=channel.pk, message_id=str(message.public_id),
            conversation_id=str(by_pk[message.conversation_id].public_id), channel_id=channel_id,
            direction=message.direction, private=False, has_media="media" in message.content_attributes,
        ) for message in inserted]
        publish_many(events)
        stored[channel.tenant_id] = stored.get(channel.tenant_id, 0) + len(inserted)
    results: list[Received] = []
    seen: set[str] = set()
    for message in messages:  # a repeat within the batch is not created twice
        stored_message, created = found[message.provider_message_id]
        results.append(Received(stored_message, created and message.provider_message_id not in seen))
        seen.add(message.provider_message_id)
    return results


def _aliases_record(channel: Channel, messages: Iterable[IncomingMessage]) -> None:
    """The other addresses the messages name for their (known by now) senders, kept as the
    senders' identities where the channel has none by them: a contact first known by their
    phone is found by their @lid later (a new sender's are kept when their contact is made)."""
    aliases = {(message.contact_external_id, alias) for message in messages for alias in message.contact_aliases
               if alias and alias != message.contact_external_id}
    addresses = sorted({address for pair in aliases for address in pair})
    named, named_params = one_of("external_id", addresses)
    known = dict(fetch_all(f"SELECT external_id, contact_id FROM {ContactIdentity._meta.db_table} "
                           f"WHERE channel_id = %s AND {named}", [channel.pk, *named_params]))
    missing = {alias: known[sender] for sender, alias in sorted(aliases) if sender in known and alias not in known}
    if missing:
        ContactIdentity.all_objects.bulk_create(
            [ContactIdentity(tenant_id=channel.tenant_id, channel=channel, contact_id=contact_id, external_id=alias)
             for alias, contact_id in missing.items()], ignore_conflicts=True)


def _open_conversations(channel: Channel, senders: list[str]) -> dict[str, _Open]:
    """Known senders' most recently active conversation that is not resolved, by sender, locked
    in id order."""
    known, known_params = one_of("external_id", senders)
    contacts = dict(fetch_all(f"SELECT contact_id, external_id FROM {ContactIdentity._meta.db_table} "
                              f"WHERE channel_id = %s AND {known}", [channel.pk, *known_params]))
    if not contacts:
        return {}
    of_contacts, of_contacts_params = one_of("contact_id", sorted(contacts))
    newest: dict[int, tuple[_Open, Any]] = {}
    for pk, public_id, contact_id, status, last_activity_at in fetch_all(
            f"SELECT id, public_id, contact_id, status, last_activity_at FROM {Conversation._meta.db_table} "
            f"WHERE channel_id = %s AND {of_contacts} AND status <> %s ORDER BY id{for_update()}",
            [channel.pk, *of_contacts_params, Conversation.Status.RESOLVED]):
        # the most recently active (compared as stored: datetimes, or ISO text on SQLite)
        if contact_id not in newest or last_activity_at > newest[contact_id][1]:
            newest[contact_id] = (_Open(pk, as_uuid(public_id), status), last_activity_at)
    return {contacts[contact_id]: conversation for contact_id, (conversation, _) in newest.items()}


def _conversation_of_new_sender(channel: Channel, message: IncomingMessage, *, started: dt.datetime | None
                                ) -> _Open:
    """The conversation a sender without an open one writes to: their contact (made on first
    sight) is locked, so that concurrent first messages share one conversation; then their
    latest conversation, resolved or not (it reopens), or a new one, whose activity starts at
    `started` (its first message's time: providers date messages before they reach us, and a
    conversation dated later than its messages would take neither their time nor a preview)."""
    identity = contact_identity_resolve(channel=channel, external_id=message.contact_external_id,
                                        name=message.contact_name, phone=message.contact_phone,
                                        email=message.contact_email, aliases=message.contact_aliases)
    Contact.all_objects.select_for_update().filter(pk=identity.contact_id).first()
    theirs = Conversation.all_objects.filter(channel=channel, contact_id=identity.contact_id).order_by(
        "-last_activity_at")
    conversation = theirs.exclude(status=Conversation.Status.RESOLVED).first() or theirs.first()
    if conversation is not None:
        # Locked before a message is written to it, as a known sender's is: a concurrent delivery
        # that found it open holds it while it inserts, and the two would otherwise each wait for
        # the other (one for the row, the other for the message id both insert).
        conversation = Conversation.all_objects.select_for_update().get(pk=conversation.pk)
    else:
        conversation = Conversation.all_objects.create(tenant_id=channel.tenant_id, channel=channel,
                                                       contact_id=identity.contact_id,
                                                       last_activity_at=started or timezone.now())
        publish(ConversationCreated(tenant_pk=channel.tenant_id, conversation_pk=conversation.pk,
                                    channel_pk=channel.pk, conversation_id=str(conversation.public_id),
                                    channel_id=str(channel.public_id)))
    return _Open(conversation.pk, conversation.public_id, conversation.status)


def _provider_id(message: Message) -> str:
    # A received message always has its provider's id (IncomingMessage requires one; the
    # column is nullable for replies not sent yet).
    return cast(str, message.provider_message_id)


def _ids_by_provider_id(channel: Channel, provider_ids: list[str]) -> dict[str, int]:
    if not provider_ids:
        return {}
    wanted, params = one_of("provider_message_id", provider_ids)
    return dict(fetch_all(f"SELECT provider_message_id, id FROM {Message._meta.db_table} "
                          f"WHERE channel_id = %s AND {wanted}", [channel.pk, *params]))


def _link_replies_within(inserted: list[Message], fresh: dict[str, IncomingMessage],
                         found: dict[str, tuple[Message, bool]]) -> None:
    """A reply to a message of the same batch: linked once both are stored (rare)."""
    for message in inserted:
        target = fresh[_provider_id(message)].reply_to_provider_id
        if message.reply_to_id is None and target in found:
            message.reply_to_id = found[target][0].pk
            Message.all_objects.filter(pk=message.pk).update(reply_to_id=message.reply_to_id)


def _statuses(inbound: Sequence[ChannelInbound]) -> dict[int, list[IncomingStatus]]:
    """Apply the statuses and the deletions (messages locked in one read per channel, channels
    in id order). A status is about the channel's message with its provider id or, when none has
    it, about the reply whose public id it echoes (`reference`) if that reply's sending was
    interrupted before the provider's id was recorded: the status records it. The statuses
    whose message is not found, by entry (`id()` of it); a deletion of a message the channel
    never stored says nothing."""
    unknown: dict[int, list[IncomingStatus]] = {id(entry): [] for entry in inbound}
    changes: list[StatusChange] = []
    deleted: list[DomainEvent] = []
    for entry in inbound:
        if not entry.statuses and not entry.deletions:
            continue
        ids = {status.provider_message_id for status in entry.statuses} | {
            deletion.provider_message_id for deletion in entry.deletions}
        found = {message.provider_message_id: message for message in messages_lock_for_statuses(
            channel_id=entry.channel.pk, provider_message_ids=ids)}
        # Rarely (a reply whose sender died before recording the provider's id): by our own id.
        references = {reference for status in entry.statuses if status.provider_message_id not in found
                      and (reference := uuid_or_none(status.reference))}
        named = {message.public_id: message for message in messages_lock_for_statuses(
            channel_id=entry.channel.pk, references=references)
            if _sending_interrupted(message)} if references else {}
        for status in entry.statuses:
            message = found.get(status.provider_message_id)
            provider_message_id = None
            reference = uuid_or_none(status.reference) if message is None else None
            if reference is not None:
                message = named.get(reference)
                provider_message_id = status.provider_message_id
            if message is None:
                unknown[id(entry)].append(status)
                continue
            changes.append(StatusChange(message, status.status, at=status.at, error_code=status.error_code,
                                        error_message=status.error_message, provider_message_id=provider_message_id))
        deleted += _deletions(entry.deletions, found)
    message_statuses_advance(changes)
    publish_many(deleted)
    return unknown


def _deletions(deletions: Sequence[IncomingDeletion], found: dict[str | None, Message]) -> list[DomainEvent]:
    """Mark the (locked) messages their senders deleted for everyone, once each; their content
    stays. Nothing else moves, but the conversation list no longer quotes a deleted message: the
    preview it gave is emptied. One message.updated per message marked."""
    events: list[DomainEvent] = []
    for deletion in deletions:
        message = found.get(deletion.provider_message_id)
        if message is None or message.deleted_at is not None:
            continue
        message.deleted_at = deletion.at or timezone.now()
        Message.all_objects.filter(pk=message.pk).update(deleted_at=message.deleted_at)
        if not message.private:  # its preview, if it is still the conversation's newest
            Conversation.all_objects.filter(pk=message.conversation_id, last_activity_at__lte=message.created_at).update(
                last_message_preview="", updated_at=timezone.now())
        events.append(MessageUpdated(tenant_pk=message.tenant_id, **message_ids(message), changed=("deleted_at",)))
    return events


def _sending_interrupted(message: Message) -> bool:
    """A reply handed to its provider whose answer was never recorded: its sender is still
    waiting for it (its claim holds), or died waiting (FAILED as delivery unknown)."""
    return (message.status == Message.Status.PENDING and message.send_lease_until is not None) or (
        message.status == Message.Status.FAILED and message.error_code == DELIVERY_UNKNOWN)
