"""The API channel's own endpoint, under /api/v1/ (integrations.registry.provider_api_urlpatterns)."""

from django.urls import path

from integrations.api_channel.api import ApiChannelInboundView

urlpatterns = [
    path("channels/<uuid:channel_id>/messages", ApiChannelInboundView.as_view(), name="channel-inbound"),
]
