from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from accounts import schema  # noqa: F401  (registers the OpenAPI auth schemes)
        from accounts.middleware import two_factor_session_mark

        # Every door that opens a session (the inbox's login, Django admin's, a test's force_login)
        # sends this; the inbox's own login then marks the session as it knows best.
        user_logged_in.connect(two_factor_session_mark, dispatch_uid="two_factor_session_mark")

        from accounts.audit import audit_login_signals_connect

        audit_login_signals_connect()
