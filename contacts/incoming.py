"""What a provider says of a contact, in the core's words: the shape that crosses from a
channel's adapter into the contacts service (contacts.services.contacts_update_from_channel)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class ContactUpdate:
    """A contact (or a group) as its channel's provider knows it now. A field left None says
    nothing (it is kept as it is)."""

    # Its address on the channel (as IncomingMessage.contact_external_id names it), and the
    # other addresses it may be known by there (an @lid next to a phone number).
    external_id: str
    aliases: tuple[str, ...] = ()
    # A person's name for themselves; for a group, its subject.
    name: str | None = None
    # Where its picture is ("": it has none any more).
    picture_url: str | None = None
