"""Connecting a channel: what an admin typed is checked with the provider before it is saved
(settings.CHANNEL_VERIFIER). The provider's adapter says what is required and what the
provider answered; this turns its refusals into errors an admin can act on."""

from __future__ import annotations

from django.utils.translation import gettext as _

from channels_app.models import Channel
from config.errors import ApplicationError, ValidationFailed
from integrations.base import ConnectRefused, ProviderError
from integrations.registry import adapter_for


class ProviderUnreachable(ApplicationError):
    """The provider could not be asked. `message` is the explanation in the member's language;
    the provider's own (English, technical) words are kept apart in `details.provider_message`,
    for a "Details" toggle on a page and a field of their own in the API: a sentence half in one
    language and half in the other helps nobody."""

    status_code = 503
    default_code = "provider_unreachable"

    def __init__(self, message: str, *, provider_message: str) -> None:
        super().__init__(message, details={"provider_message": provider_message})


def channel_verify(channel: Channel) -> None:
    """Settings hook (CHANNEL_VERIFIER). Raises ValidationFailed in plain words when the
    provider refuses what was typed, ProviderUnreachable when it cannot be asked; on success
    the adapter may have completed the channel's settings and marked it CONNECTED."""
    adapter = adapter_for(channel)
    if adapter is None:
        return
    try:
        adapter.connect()
    except ConnectRefused as refused:
        raise ValidationFailed(refused.message, code=refused.code, details=refused.details) from None
    except ProviderError as error:
        raise ProviderUnreachable(_("The provider could not be reached to check the channel. Try again in a moment."),
                                  provider_message=error.message) from None
