"""Connecting a channel: check what an admin typed with the provider before saving it."""

from __future__ import annotations

import secrets

from django.utils.translation import gettext as _

from channels_app.models import Channel
from config.errors import ApplicationError, ValidationFailed
from integrations.base import ProviderAuthError, ProviderError, ProviderPermanentError, ProviderTemporaryError
from integrations.registry import adapter_for

REQUIRED = {
    Channel.Kind.WHATSAPP_CLOUD: {
        "config": ("phone_number_id", "waba_id"),
        "credentials": ("access_token", "app_secret"),
    },
}


class ProviderUnreachable(ApplicationError):
    status_code = 503
    default_code = "provider_unreachable"


def channel_verify(channel: Channel) -> None:
    """Settings hook (CHANNEL_VERIFIER). Raises ValidationFailed in plain words when the
    provider refuses what was typed; on success marks the channel CONNECTED and keeps what
    the provider says about the account."""
    required = REQUIRED.get(channel.kind)
    if required is None:
        return
    missing = {
        group: [_("This field is required.")]
        for group, names in required.items()
        for name in names
        if not str((channel.config if group == "config" else channel.credentials).get(name, "")).strip()
    }
    missing_names = [name for group, names in required.items() for name in names
                     if not str((channel.config if group == "config" else channel.credentials).get(name, "")).strip()]
    if missing:
        raise ValidationFailed(_("Missing: %(names)s.") % {"names": ", ".join(missing_names)},
                               details={**missing, "missing": missing_names})
    if channel.kind == Channel.Kind.WHATSAPP_CLOUD and not channel.credentials.get("verify_token"):
        channel.credentials["verify_token"] = secrets.token_urlsafe(24)  # to paste into Meta
    try:
        info = adapter_for(channel).validate_credentials()
    except ProviderAuthError as error:
        raise ValidationFailed(
            _("Meta refused the access token (%(code)s): it is wrong, expired or lacks the "
              "whatsapp_business_messaging permission.") % {"code": error.code},
            code="provider_auth_failed", details={"credentials": ["access_token"]},
        ) from None
    except ProviderPermanentError as error:
        raise ValidationFailed(
            _("Meta does not know phone number id %(id)s for this token (%(code)s): check the id in "
              "WhatsApp Manager.") % {"id": channel.config.get("phone_number_id"), "code": error.code},
            code="provider_rejected", details={"config": ["phone_number_id"]},
        ) from None
    except (ProviderTemporaryError, ProviderError) as error:
        raise ProviderUnreachable(
            _("Meta could not be reached to check the channel (%(reason)s). Try again in a moment.")
            % {"reason": error.message}
        ) from None
    channel.config.update({key: info[key] for key in ("display_phone_number", "verified_name", "quality_rating")
                           if key in info})
    channel.status, channel.status_detail = Channel.Status.CONNECTED, ""
