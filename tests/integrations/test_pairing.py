"""A QR-paired provider's word on its link to the phone (ConnectionUpdate), through the
pipeline: the channel's status, the QR code its settings page shows, and an event for the page."""

from __future__ import annotations

import pytest

from channels_app.models import Channel
from channels_app.services import channel_pairing_update
from tests import factories

pytestmark = pytest.mark.django_db


def _names(events):
    return [event.name for event in events]


def test_a_new_qr_code_is_kept_and_announced_then_cleared_once_paired(acme, events, django_capture_on_commit_callbacks):
    channel = factories.ChannelFactory(tenant=acme, status=Channel.Status.CONNECTING)

    with django_capture_on_commit_callbacks(execute=True):
        channel_pairing_update(channel=channel, status=Channel.Status.QR_PENDING, qr_code="2@abc,def")
    channel.refresh_from_db()
    assert channel.status == Channel.Status.QR_PENDING and channel.config["pairing"]["qr_code"] == "2@abc,def"
    assert _names(events) == ["channel.status_changed", "channel.pairing_changed"]

    events.clear()
    with django_capture_on_commit_callbacks(execute=True):  # the same code again: nothing new
        channel_pairing_update(channel=channel, status=Channel.Status.QR_PENDING, qr_code="2@abc,def")
    assert events == []

    with django_capture_on_commit_callbacks(execute=True):  # refreshed: the page fetches it
        channel_pairing_update(channel=channel, status=Channel.Status.QR_PENDING, qr_code="2@next")
    assert _names(events) == ["channel.pairing_changed"]

    events.clear()
    with django_capture_on_commit_callbacks(execute=True):
        channel_pairing_update(channel=channel, status=Channel.Status.CONNECTED, phone="+5511987654321")
    channel.refresh_from_db()
    assert channel.status == Channel.Status.CONNECTED and channel.config["pairing"] == {}
    assert channel.config["phone"] == "+5511987654321"
    assert _names(events) == ["channel.status_changed", "channel.pairing_changed"]
    assert "2@next" not in str(events[-1].payload())  # the code itself never travels in events


def test_a_kind_not_paired_by_qr_code_refuses_the_pairing_operations(acme):
    from integrations.base import ProviderPermanentError
    from integrations.registry import adapter_for

    adapter = adapter_for(factories.ChannelFactory(tenant=acme, kind="whatsapp_cloud"))
    for operation in (adapter.pair, adapter.connection_state, adapter.disconnect, adapter.restart):
        with pytest.raises(ProviderPermanentError) as refused:
            operation()
        assert refused.value.code == "not_paired_by_qr"
