from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import TokenObtainView, TokenRefreshView, TokenRevokeView
from accounts.audit_api import AuditEntryViewSet
from accounts.notice_api import NoticeViewSet
from channels_app.api import ChannelViewSet
from contacts.api import ContactViewSet
from contacts.lgpd_api import ContactAnonymiseView, ContactExportView, ContactMergeView
from contacts.transfer_api import ContactExportViewSet, ContactImportViewSet
from conversations.api import ConversationMessagesView, ConversationViewSet, MessageDetailView, MessageRetryView
from conversations.organisation_api import CannedResponseViewSet, LabelViewSet, TeamViewSet
from conversations.reports.api import ReportsOverviewView
from integrations.alert_api import AlertRuleViewSet
from integrations.api_key_api import ApiKeyViewSet
from integrations.member_api import InvitationViewSet, MemberViewSet
from integrations.monitoring.api import IntegrationsHealthView
from integrations.pairing_api import ChannelDisconnectView, ChannelPairingView, ChannelPairView, ChannelRestartView
from integrations.registry import provider_api_urlpatterns
from webhooks.api import WebhookDeliveryViewSet, WebhookEventTypesView, WebhookViewSet

# Path converters, not regexes: the viewsets' lookups are <uuid:id> (public ids), so that a
# malformed id matches no URL (a 404) and the schema says format: uuid.
router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.include_root_view = False
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("contacts/imports", ContactImportViewSet, basename="contact-import")
router.register("contacts/exports", ContactExportViewSet, basename="contact-export")
router.register("contacts", ContactViewSet, basename="contact")
router.register("channels", ChannelViewSet, basename="channel")
router.register("audit", AuditEntryViewSet, basename="audit")
router.register("teams", TeamViewSet, basename="team")
router.register("labels", LabelViewSet, basename="label")
router.register("canned-responses", CannedResponseViewSet, basename="canned-response")
router.register("members", MemberViewSet, basename="member")
router.register("invitations", InvitationViewSet, basename="invitation")
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("alert-rules", AlertRuleViewSet, basename="alert-rule")

urlpatterns = [
    path("auth/token", TokenObtainView.as_view(), name="auth-token"),
    path("auth/refresh", TokenRefreshView.as_view(), name="auth-refresh"),
    path("auth/revoke", TokenRevokeView.as_view(), name="auth-revoke"),
    path("conversations/<uuid:conversation_id>/messages", ConversationMessagesView.as_view(),
         name="conversation-messages"),
    path("messages/<uuid:id>", MessageDetailView.as_view(), name="message-detail"),
    path("messages/<uuid:id>/retry", MessageRetryView.as_view(), name="message-retry"),
    path("channels/<uuid:channel_id>/pairing", ChannelPairingView.as_view(), name="channel-pairing"),
    path("channels/<uuid:channel_id>/pair", ChannelPairView.as_view(), name="channel-pair"),
    path("channels/<uuid:channel_id>/disconnect", ChannelDisconnectView.as_view(), name="channel-disconnect"),
    path("channels/<uuid:channel_id>/restart", ChannelRestartView.as_view(), name="channel-restart"),
    path("contacts/<uuid:id>/merge", ContactMergeView.as_view(), name="contact-api-merge"),
    path("contacts/<uuid:id>/export", ContactExportView.as_view(), name="contact-api-export"),
    path("contacts/<uuid:id>/anonymise", ContactAnonymiseView.as_view(), name="contact-api-anonymise"),
    path("integrations/health", IntegrationsHealthView.as_view(), name="integrations-health"),
    path("reports/overview", ReportsOverviewView.as_view(), name="reports-overview"),
    path("webhooks", WebhookViewSet.as_view({"get": "list"}), name="webhook-list"),
    path("webhooks/register", WebhookViewSet.as_view({"post": "register"}), name="webhook-register"),
    path("webhooks/events", WebhookEventTypesView.as_view(), name="webhook-events"),
    path("webhooks/<uuid:id>", WebhookViewSet.as_view({"get": "retrieve", "patch": "partial_update",
                                                       "delete": "destroy"}), name="webhook-detail"),
    path("webhooks/<uuid:id>/rotate-secret", WebhookViewSet.as_view({"post": "rotate_secret"}),
         name="webhook-rotate-secret"),
    path("webhooks/<uuid:id>/test", WebhookViewSet.as_view({"post": "test"}), name="webhook-test"),
    path("webhooks/<uuid:id>/enable", WebhookViewSet.as_view({"post": "enable"}), name="webhook-enable"),
    path("webhooks/<uuid:id>/disable", WebhookViewSet.as_view({"post": "disable"}), name="webhook-disable"),
    path("webhooks/<uuid:webhook_id>/deliveries", WebhookDeliveryViewSet.as_view({"get": "list"}),
         name="webhook-deliveries"),
    path("webhooks/deliveries/<uuid:id>/replay", WebhookDeliveryViewSet.as_view({"post": "replay"}),
         name="webhook-delivery-replay"),
    path("notices", NoticeViewSet.as_view({"get": "list"}), name="notice-list"),
    path("notices/read", NoticeViewSet.as_view({"post": "read"}), name="notices-read"),
    *provider_api_urlpatterns(),
    *router.urls,
]
