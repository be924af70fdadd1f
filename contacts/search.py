"""How contacts are found by what people type: accent- and case-insensitive (pt-BR: "joao"
finds "João", "conceicao" finds "Conceição"), and phones by any run of their digits.

Each contact keeps `search_text`: its name, email and phone digits, lower-case and without
accents, written whenever those fields are (Contact.save, and the bulk writes of the import).
Searching is then a plain `contains` on one column, the same on SQLite and PostgreSQL (where a
trigram index serves it: migration 0004), with no database function to register or extension
to depend on."""

from __future__ import annotations

import re
import unicodedata

_NOT_DIGIT = re.compile(r"\D")
_DIGIT = re.compile(r"\d")
# What a phone number is written with besides its digits.
_PHONE_WRITING = re.compile(r"[\s().+\-/]")


def search_fold(text: str) -> str:
    """Lower-case, without accents or other marks, spaces collapsed: "  Conceição " → "conceicao"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(bare.casefold().split())


def search_text_for(*, name: str, phone: str, email: str) -> str:
    """The text a contact is searched by (see the module's doc)."""
    return " ".join(part for part in (search_fold(name), (email or "").strip().lower(),
                                      _NOT_DIGIT.sub("", phone or "")) if part)


def search_terms(text: str) -> list[str]:
    """What a search must all find in `search_text`: the digits of something written as a phone
    number (`+55 (11) 98765-4321`, `98765 4321`), else each word, folded."""
    text = (text or "").strip()
    digits = _NOT_DIGIT.sub("", text)
    if len(digits) >= 3 and not _PHONE_WRITING.sub("", _DIGIT.sub("", text)):
        return [digits]
    return search_fold(text).split()
