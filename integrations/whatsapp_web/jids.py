"""WhatsApp Web addresses (JIDs): `<user>[:<device>]@<server>`.

A person is a phone JID (`5511987654321@s.whatsapp.net`) or, where WhatsApp hides the number,
a LID (`100000000000123@lid`, with the phone in an "Alt" field when it is known); a group is
`<id>@g.us`. The inbox keeps one address per person: the phone's digits when known (E.164
without "+"), the others as aliases, so that whichever arrives later finds the same contact.

Brazil added a ninth digit to mobile numbers (2012-2016), but WhatsApp accounts older than that
still have JIDs without it: `55` + area code + 8 digits starting with 6-9. Both forms are the
same phone; the canonical one is the 13-digit form, the way the number is written today."""

from __future__ import annotations

from dataclasses import dataclass

PHONE_SERVERS = frozenset({"s.whatsapp.net", "c.us"})
LID_SERVER = "lid"
GROUP_SERVER = "g.us"
# Status updates, broadcast lists and channels: not conversations with a contact.
NOT_A_CHAT_SERVERS = frozenset({"broadcast", "newsletter"})

_BRAZIL = "55"
_OLD_MOBILE_FIRST_DIGITS = frozenset("6789")


@dataclass(frozen=True)
class Jid:
    user: str
    server: str

    @property
    def is_phone(self) -> bool:
        return self.server in PHONE_SERVERS and self.user.isdigit()

    @property
    def is_lid(self) -> bool:
        return self.server == LID_SERVER

    @property
    def is_group(self) -> bool:
        return self.server == GROUP_SERVER

    @property
    def is_chat(self) -> bool:
        """A person or a group (not a status update, a broadcast list or a channel)."""
        return self.server not in NOT_A_CHAT_SERVERS and bool(self.user)

    def __str__(self) -> str:
        return f"{self.user}@{self.server}"


def jid_parse(value: object) -> Jid | None:
    """The JID in `value` without its device part, or None when it is not one."""
    if not isinstance(value, str) or "@" not in value:
        return None
    user, _, server = value.strip().partition("@")
    user = user.split(":", 1)[0]
    if not user or not server:
        return None
    return Jid(user=user, server=server.lower())


def brazil_phone_forms(digits: str) -> tuple[str, tuple[str, ...]]:
    """A phone number's canonical digits and its other forms: a Brazilian mobile with and
    without the ninth digit (55 + area code + [9] + 8 digits from 6 to 9); any other number
    is its own and only form."""
    if digits.startswith(_BRAZIL) and digits[2:4].isdigit() and digits[2] != "0":
        area = digits[2:4]
        if len(digits) == 12 and digits[4] in _OLD_MOBILE_FIRST_DIGITS:
            return f"{_BRAZIL}{area}9{digits[4:]}", (digits,)
        if len(digits) == 13 and digits[4] == "9" and digits[5] in _OLD_MOBILE_FIRST_DIGITS:
            return digits, (f"{_BRAZIL}{area}{digits[5:]}",)
    return digits, ()


def phone_of(*jids: object) -> str:
    """The canonical digits of the first phone JID among `jids` ("" when none is one)."""
    for value in jids:
        jid = jid_parse(value)
        if jid is not None and jid.is_phone:
            return brazil_phone_forms(jid.user)[0]
    return ""


@dataclass(frozen=True)
class ContactAddress:
    """Where a person (or a group) is on the channel: the address kept for sending, the
    others it may arrive from, and the phone number (E.164) when it is known."""

    external_id: str
    aliases: tuple[str, ...] = ()
    phone: str = ""


def contact_address(jid: object, *alternatives: object) -> ContactAddress | None:
    """The address of the chat `jid` names, completed by its alternative JIDs (the phone JID of
    an @lid chat, the @lid of a phone one). None when `jid` is no person's or group's chat."""
    main = jid_parse(jid)
    if main is None or not main.is_chat:
        return None
    if main.is_group:
        return ContactAddress(external_id=str(main))
    others = [found for value in alternatives if (found := jid_parse(value)) is not None]
    phone_jid = main if main.is_phone else next((other for other in others if other.is_phone), None)
    lids = [str(candidate) for candidate in (main, *others) if candidate.is_lid]
    if phone_jid is None:
        return ContactAddress(external_id=str(main),
                              aliases=tuple(dict.fromkeys(lid for lid in lids if lid != str(main))))
    digits, other_forms = brazil_phone_forms(phone_jid.user)
    aliases = tuple(dict.fromkeys([*other_forms, *lids]))
    return ContactAddress(external_id=digits, aliases=aliases, phone="+" + digits)
