from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from accounts import schema  # noqa: F401  (registers the OpenAPI auth schemes)
        from accounts.middleware import two_factor_session_mark

        # Every door that opens a session (the inbox's login, Django admin's, a test's force_login)
        # sends this; the inbox's own login then marks the session as it knows best.
        user_logged_in.connect(two_factor_session_mark, dispatch_uid="two_factor_session_mark")

        from accounts.login_sessions import login_session_on_logged_in, login_session_on_logged_out

        # Recorded at login, so that turning two-factor login on can end the others.
        user_logged_in.connect(login_session_on_logged_in, dispatch_uid="login_session_on_logged_in")
        user_logged_out.connect(login_session_on_logged_out, dispatch_uid="login_session_on_logged_out")

        from accounts.audit import audit_login_signals_connect

        audit_login_signals_connect()
