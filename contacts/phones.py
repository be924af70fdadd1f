from __future__ import annotations

import phonenumbers


class InvalidPhone(ValueError):
    pass


def phone_normalize(raw: str, *, default_region: str = "BR") -> str:
    """E.164 (`+5511987654321`) from how people write numbers: `(11) 98765-4321`,
    `+55 11 98765 4321`, `5511987654321`... A number without `+` is read in the tenant's
    country first, then as international digits."""
    text = raw.strip()
    if not text:
        return ""
    candidates = [(text, default_region)]
    if not text.startswith("+"):
        candidates.append(("+" + text, None))
    for candidate, region in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidPhone(f"{raw!r} is not a valid phone number")
