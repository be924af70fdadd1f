"""The seeds' paths (config.urls mounts them at the root, before the API's catch-all 404)."""

from django.urls import path, re_path

from config.api.errors import api_not_found
from integrations.seed_contracts import api, webhooks

INSTANCE = "<uuid:id>"

urlpatterns = [
    # seed 000
    path("api/v1/whatsapp/instances", api.InstancesView.as_view(), name="seed-instances"),
    path(f"api/v1/whatsapp/instances/{INSTANCE}", api.InstanceView.as_view(), name="seed-instance"),
    path(f"api/v1/whatsapp/instances/{INSTANCE}/qrcode", api.InstanceQrCodeView.as_view(), name="seed-instance-qrcode"),
    path(f"api/v1/whatsapp/instances/{INSTANCE}/status", api.InstanceStatusView.as_view(), name="seed-instance-status"),
    path(f"api/v1/whatsapp/instances/{INSTANCE}/disconnect", api.InstanceDisconnectView.as_view(),
         name="seed-instance-disconnect"),
    path(f"api/v1/whatsapp/instances/{INSTANCE}/messages", api.InstanceMessagesView.as_view(),
         name="seed-instance-messages"),
    path("api/v1/whatsapp/health", api.WhatsAppHealthView.as_view(), name="seed-whatsapp-health"),
    path("api/webhooks/whatsapp/<uuid:tenantId>/<uuid:instanceId>", webhooks.InstanceWebhookView.as_view(),
         name="seed-instance-webhook"),
    # seed 001
    path("api/whatsapp/connect", api.ConnectView.as_view(), name="seed-connect"),
    path("api/whatsapp/status/<str:tenantId>", api.ConnectionStatusView.as_view(), name="seed-connection-status"),
    path("api/whatsapp/disconnect/<str:tenantId>", api.DisconnectView.as_view(), name="seed-disconnect"),
    path("api/conversations/<uuid:id>/send-message", api.SendMessageView.as_view(), name="seed-send-message"),
    path("api/webhooks/whatsapp", webhooks.ConnectionServiceWebhookView.as_view(), name="seed-connection-webhook"),
    # seed 004
    path("integrations/whatsapp", api.IntegrationsView.as_view(), name="seed-integrations"),
    path(f"integrations/whatsapp/{INSTANCE}", api.IntegrationView.as_view(), name="seed-integration"),
    path(f"integrations/whatsapp/{INSTANCE}/connect", api.IntegrationConnectView.as_view(),
         name="seed-integration-connect"),
    path(f"integrations/whatsapp/{INSTANCE}/status", api.IntegrationStatusView.as_view(),
         name="seed-integration-status"),
    re_path(r"^integrations/whatsapp(?:/.*)?$", api_not_found),  # a malformed id too: the API's JSON 404
    path("webhooks/evolution", webhooks.EvolutionWebhookView.as_view(), name="seed-evolution-webhook"),
]
