from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from . import audit, checks  # noqa: F401  (checks registers the system checks)

        user_logged_in.connect(audit.signin_succeeded, dispatch_uid="accounts.audit.signin")
        user_login_failed.connect(audit.signin_failed, dispatch_uid="accounts.audit.signin_failed")
