from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        # The integrations health page lists the endpoints, and the alerts find the disabled
        # ones, through these (integrations may not import us).
        from integrations.models import ActivitySlot, AlertRule
        from integrations.monitoring.alerts import condition_source_register
        from integrations.monitoring.figures import subject_source_register
        from webhooks.alerts import webhook_disabled_findings
        from webhooks.selectors import webhook_health_subjects

        subject_source_register(ActivitySlot.Subject.WEBHOOK, webhook_health_subjects)
        condition_source_register(AlertRule.Kind.WEBHOOK_DISABLED, webhook_disabled_findings)
