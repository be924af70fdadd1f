from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        from integrations.models import AlertRule
        from integrations.monitoring.alerts import condition_source_register
        from webhooks.alerts import webhook_disabled_findings

        condition_source_register(AlertRule.Kind.WEBHOOK_DISABLED, webhook_disabled_findings)
