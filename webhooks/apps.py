from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        # The integrations health page lists the endpoints through this (it may not import us).
        from integrations.models import ActivitySlot
        from integrations.monitoring.figures import subject_source_register
        from webhooks.selectors import webhook_health_subjects

        subject_source_register(ActivitySlot.Subject.WEBHOOK, webhook_health_subjects)
