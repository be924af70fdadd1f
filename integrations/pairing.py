"""Pairing a channel with a phone by QR code: what the settings page, the API and Celery beat
ask of a provider paired that way (its adapter's pairing operations), recorded on the channel
by channels_app.services.channel_pairing_update, which also tells the settings page live."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import segno
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.audit import audit_record
from accounts.models import AuditAction, User
from channels_app.models import Channel
from channels_app.services import channel_audit_target, channel_pairing_update, channel_set_status
from config.errors import ApplicationError, ConflictError
from integrations.base import (
    ChannelAdapter,
    ConnectionUpdate,
    ProviderAuthError,
    ProviderError,
    ProviderPermanentError,
)
from integrations.connect import ProviderUnreachable
from integrations.registry import adapter_for, kinds_with

logger = logging.getLogger(__name__)

DISCONNECTED_BY_ADMIN = gettext_noop("Disconnected by an administrator.")
SANDBOX_PHONE = "+5511987654321"  # the phone a sandbox channel is paired with, when it names none


def _adapter(channel: Channel) -> ChannelAdapter:
    adapter = adapter_for(channel)
    if adapter is None or not adapter.capabilities.qr_pairing:
        raise ConflictError(_("This channel is not paired with a phone by QR code."), code="not_paired_by_qr")
    return adapter


@contextmanager
def _provider_errors(channel: Channel) -> Iterator[None]:
    """A pairing operation's failures in an admin's words (a refused key errs the channel)."""
    try:
        yield
    except ProviderAuthError as error:
        channel_set_status(channel=channel, status=Channel.Status.ERROR, detail=f"{error.message} ({error.code})")
        raise ApplicationError(error.message, code="provider_refused", status_code=422) from None
    except ProviderPermanentError as error:  # the provider answered, and refused: its words
        raise ApplicationError(error.message, code="provider_refused", status_code=422) from None
    except ProviderError as error:
        raise ProviderUnreachable(_("The provider could not be reached. Try again in a moment."),
                                  provider_message=error.message) from None


def _record(channel: Channel, update: ConnectionUpdate) -> Channel:
    return channel_pairing_update(channel=channel, status=update.status, detail=update.detail,
                                  qr_code=update.qr_code, qr_image=update.qr_image,
                                  pairing_code=update.pairing_code, phone=update.phone)


def channel_pair(*, channel: Channel, phone: str = "", actor: User | None = None) -> Channel:
    """Start pairing, or refresh it: the channel keeps the QR code to show (or, for `phone`,
    the code to type on that phone), or becomes CONNECTED if it already is. Audited when an
    admin asks (`actor`): the start of connecting a phone."""
    adapter = _adapter(channel)
    with _provider_errors(channel):
        update = adapter.pair(phone=phone)
    if actor is not None:
        audit_record(tenant=channel.tenant_id, action=AuditAction.CHANNEL_CONNECTED, actor=actor,
                     target=channel_audit_target(channel),
                     details={"kind": channel.kind, "pairing": "code" if phone else "qr"})
    return _record(channel, update)


def channel_disconnect(*, channel: Channel, actor: User | None = None) -> Channel:
    """Log the phone out; the channel stays, to be paired again."""
    adapter = _adapter(channel)
    with _provider_errors(channel):
        adapter.disconnect()
    audit_record(tenant=channel.tenant_id, action=AuditAction.CHANNEL_DISCONNECTED, actor=actor,
                 target=channel_audit_target(channel), details={"kind": channel.kind})
    return channel_pairing_update(channel=channel, status=Channel.Status.DISCONNECTED, detail=DISCONNECTED_BY_ADMIN)


def channel_restart(*, channel: Channel) -> Channel:
    """Restart the provider's session, then record the state it reports."""
    adapter = _adapter(channel)
    with _provider_errors(channel):
        adapter.restart()
    return channel_connection_check(channel=channel)


def channel_sandbox_scan(*, channel: Channel) -> None:
    """A sandbox channel's phone scanning its QR code (the provider's simulator posts the
    connection webhook that pairs it, as the provider would)."""
    adapter = _adapter(channel)
    with _provider_errors(channel):
        adapter.sandbox_scan(phone=str(channel.config.get("phone") or SANDBOX_PHONE))


def channel_connection_check(*, channel: Channel) -> Channel:
    """The link's state as the provider reports it now (webhooks can be lost)."""
    adapter = _adapter(channel)
    with _provider_errors(channel):
        update = adapter.connection_state()
    return _record(channel, update)


def channels_connection_check_all() -> int:
    """Celery beat's backstop: every live QR-paired channel's state asked of its provider.
    Returns how many were checked; one that cannot be asked is left as it is."""
    checked = 0
    for channel in Channel.all_objects.select_related("tenant").filter(
            kind__in=kinds_with("qr_pairing"), archived_at__isnull=True).order_by("pk"):
        try:
            channel_connection_check(channel=channel)
            checked += 1
        except ApplicationError as error:
            logger.info("channel %s: connection state not read now: %s", channel.pk, error.message)
    return checked


def pairing_qr_png(channel: Channel) -> str:
    """The QR code to scan, as a data: URL of a PNG ("" when there is none): drawn from the
    provider's code, or the provider's own image when it gave no code."""
    pairing = channel.config.get("pairing") or {}
    if pairing.get("qr_code"):
        out = io.BytesIO()
        segno.make_qr(pairing["qr_code"], error="l").save(out, kind="png", scale=6, border=2)
        return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
    image = str(pairing.get("qr_image") or "")
    return image if image.startswith("data:image/png;base64,") else ""
