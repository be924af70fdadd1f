from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from tenants.cors import cors_request_allowed

        check_request_enabled.connect(cors_request_allowed, dispatch_uid="tenants.cors")
