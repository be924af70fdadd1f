"""The seeds' words for a WhatsApp channel, in one place: their `type` as our channel kinds, and
their names of a channel's settings as the fields of that kind's own settings form (the form,
not this package, knows what becomes config and what becomes a secret)."""

from __future__ import annotations

# The seeds' `type` → the kind of the provider that serves it here.
SEED_TYPES: dict[str, str] = {
    "OFFICIAL": "whatsapp_cloud",  # Meta's Cloud API
    "EVOLUTION": "whatsapp_evolution",  # a number paired by QR code through an Evolution API server
    "BAILEYS": "whatsapp_gateway",  # a number paired by QR code through a connection service (Baileys)
}
DEFAULT_TYPE = "EVOLUTION"
# Seed 001's number paired by QR code: a channel of one of these types (the oldest), and the type
# it creates when the account has none.
QR_TYPES = ("BAILEYS", "EVOLUTION")
CONNECT_TYPE = "BAILEYS"

# The seed's settings fields, by the seed's names (seed 000 and seed 004 alike).
SETTINGS_FIELDS = ("serverUrl", "apiToken", "phoneNumberId", "businessAccountId", "accessToken", "appSecret")
# Where a settings form's field is not the seed's name in snake_case (phoneNumberId is
# phone_number_id, accessToken access_token, appSecret app_secret, serverUrl server_url):
# seed field → form field, by type. A field the type's form does not have is ignored.
FORM_FIELDS: dict[str, dict[str, str]] = {
    "OFFICIAL": {"businessAccountId": "waba_id"},
    "EVOLUTION": {"apiToken": "api_key"},
    "BAILEYS": {"serverUrl": "service_url", "apiToken": "api_key"},
}


def seed_type_of(kind: str) -> str:
    """The seeds' `type` of a channel kind ("" for a kind they have no word for)."""
    return next((seed_type for seed_type, seed_kind in SEED_TYPES.items() if seed_kind == kind), "")


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name)


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def form_field(seed_type: str, seed_field: str) -> str:
    """The settings form's name of a seed field."""
    return FORM_FIELDS[seed_type].get(seed_field) or _snake(seed_field)


def seed_field(seed_type: str, form_field_name: str) -> str:
    """The seed's name of a settings form's field (for the errors it answers with)."""
    named = {form: seed for seed, form in FORM_FIELDS.get(seed_type, {}).items()}
    if form_field_name in named:
        return named[form_field_name]
    return "non_field_errors" if form_field_name == "__all__" else _camel(form_field_name)
