"""What the core knows of channel kinds: their names and the capabilities that shape the inbox
(a reply window, templates). The core never imports a provider: the integrations registry,
the one list of kinds, registers each kind here when the apps are ready
(integrations.apps), and the core reads it from here.

A stored channel of a kind that nothing registered (its provider package was removed, or a
kind from before it had one) reads as not available: its label is its raw kind."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any


@dataclass(frozen=True)
class ChannelKind:
    value: str
    label: Any  # a (lazily translated) name for people
    badge: str  # a short text badge for lists (renders the same with or without emoji fonts)
    # Free-form replies are accepted only this long after the contact's last message (then
    # only templates); None: always.
    reply_window: timedelta | None = None
    templates: bool = False  # the provider keeps approved message templates
    reactions: bool = False  # an agent can react to a message with an emoji
    connected_on_create: bool = False  # needs nothing from a provider to work
    # The largest text a message may have on this kind (the core's own limit applies too).
    max_text_length: int | None = None
    # The largest file it sends, and the MIME types it sends ("image/*" for a family; empty: any).
    max_media_bytes: int | None = None
    media_types: frozenset[str] = frozenset()
    # The network whose addresses its contacts have (kinds of one network are transports of the
    # same number: a channel can move between them keeping its contacts); "" : its own.
    network: str = ""
    available: bool = True

    def takes_media(self, content_type: str) -> bool:
        """Whether this kind sends a file of this MIME type."""
        if not self.media_types:
            return True
        family = content_type.split("/", 1)[0] + "/*"
        return content_type in self.media_types or family in self.media_types


_kinds: dict[str, ChannelKind] = {}


def kinds_register(kinds: Iterable[ChannelKind]) -> None:
    """Make these the registered kinds (called once the apps are ready)."""
    _kinds.clear()
    _kinds.update((kind.value, kind) for kind in kinds)


def kind_of(value: str) -> ChannelKind:
    """The registered kind, or a stand-in saying it is not available."""
    found = _kinds.get(value)
    return found if found is not None else ChannelKind(value=value, label=value, badge="•", available=False)


def kinds_available() -> list[ChannelKind]:
    return list(_kinds.values())


def kind_choices() -> list[tuple[str, Any]]:
    """The choices of Channel.kind: the registered kinds (evaluated when asked, so that
    registering a provider needs no migration)."""
    return [(kind.value, kind.label) for kind in _kinds.values()]


class _RegisteredKindChoices:
    """kind_choices(), read when iterated: the API schema names the channel kinds' enum
    (SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES) before the providers have registered them."""

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(kind_choices())


REGISTERED_KIND_CHOICES = _RegisteredKindChoices()
