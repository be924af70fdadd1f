"""What a provider delivered, in the core's words: the shapes that cross from a channel's
adapter into the receive service (conversations.services.receive). Frozen and typed, so that
the boundary says exactly what the core needs and nothing of any provider's wire format."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from channels_app.models import Channel


@dataclass(frozen=True, kw_only=True)
class IncomingMessage:
    """A message a contact sent on a channel, or (`from_me`) one the channel's own account sent
    from elsewhere (the paired phone): stored as outgoing, never as the contact's."""

    # The provider's id for it: unique per channel, what makes a redelivery harmless.
    provider_message_id: str
    # The contact's address on the channel (a phone number, a page-scoped id, an email address...).
    contact_external_id: str
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    type: str = "TEXT"
    content: str = ""
    # Normalised, provider-independent details of non-text messages (media, location...).
    content_attributes: Mapping[str, Any] = field(default_factory=dict)
    sent_at: dt.datetime | None = None
    reply_to_provider_id: str | None = None
    from_me: bool = False
    # Other addresses of the same contact on this channel (a messenger's private id next to the phone, a
    # Brazilian mobile without its ninth digit): whichever arrives, it is one contact and one
    # conversation. `contact_external_id` is the one kept for sending.
    contact_aliases: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class IncomingStatus:
    """What became of a message sent on a channel: SENT, DELIVERED, READ or FAILED."""

    provider_message_id: str
    status: str
    at: dt.datetime | None = None
    error_code: str = ""
    error_message: str = ""
    # Our own id of the message (its public id), where the provider echoes one back: it finds a
    # reply whose sending was interrupted before the provider's id for it was recorded.
    reference: str = ""


@dataclass(frozen=True, kw_only=True)
class IncomingDeletion:
    """A message its sender deleted for everyone (the contact, or the channel's own account from
    the paired phone), by the provider's id for it."""

    provider_message_id: str
    at: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class IncomingPresence:
    """A contact typing, or recording a voice note, in their chat with the channel (for a group:
    someone in it), or no longer: shown live in the open thread for a few seconds, never stored."""

    TYPING = "typing"
    RECORDING = "recording"
    IDLE = "idle"  # stopped, went online or offline: nothing to show

    contact_external_id: str  # the chat: a person's address on the channel, or a group's
    state: str
    contact_aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelInbound:
    """What one delivery (or batch of deliveries) brought for one channel."""

    channel: Channel
    messages: Sequence[IncomingMessage] = ()
    statuses: Sequence[IncomingStatus] = ()
    deletions: Sequence[IncomingDeletion] = ()
