from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations.inbound.process import webhook_events_reopen
from integrations.inbound.tasks import webhook_events_requeue
from integrations.models import WebhookEvent
from tenants.admin import UnscopedAdminMixin

if TYPE_CHECKING:  # ModelAdmin is generic in django-stubs only: it is not subscriptable at run time
    _ModelAdmin = admin.ModelAdmin[WebhookEvent]
else:
    _ModelAdmin = admin.ModelAdmin


@admin.register(WebhookEvent)
class WebhookEventAdmin(UnscopedAdminMixin, _ModelAdmin):
    """What providers delivered, with the error of any that could not be processed."""

    list_display = ("id", "tenant", "channel", "status", "attempts", "received_at", "processed_at", "short_error")
    list_select_related = ("tenant", "channel")
    list_filter = ("status", "channel__kind", "tenant")
    search_fields = ("error", "body")
    readonly_fields = ("tenant", "channel", "status", "attempts", "received_at", "processed_at", "error", "body",
                       "signature")
    actions = ["process_again"]
    show_full_result_count = False

    @admin.display(description=_("error"))
    def short_error(self, event: WebhookEvent) -> str:
        return event.error[:120]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Process the selected webhooks again"))
    def process_again(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        ids = webhook_events_reopen(event_ids=list(queryset.values_list("pk", flat=True)))
        webhook_events_requeue(ids)
        self.message_user(request, ngettext("%(count)s webhook queued again.", "%(count)s webhooks queued again.",
                                            len(ids)) % {"count": len(ids)}, messages.SUCCESS)
