"""Django's password forms, each change of a password written to the audit log.

Every surface that sets a password through Django's forms uses these: the panel's own
change and its reset link, the portal's reset link, the admin's password page. The entry
("account.password_changed", the password masked) is written in the save's transaction;
the actor is whoever `audit.acting_for` names (the admin's user), else the account's own
holder (a reset link proves it is them).
"""

from typing import TYPE_CHECKING, Any

from django.contrib.auth import forms as auth_forms
from django.db import transaction

from . import audit
from .models import User

if TYPE_CHECKING:  # generic in the stubs only
    _SetPasswordForm = auth_forms.SetPasswordForm[User]
    _AdminPasswordChangeForm = auth_forms.AdminPasswordChangeForm[User]
else:
    _SetPasswordForm = auth_forms.SetPasswordForm
    _AdminPasswordChangeForm = auth_forms.AdminPasswordChangeForm


class AuditedPasswordMixin:
    audit_detail = ""

    def set_password_and_save(self, user: User, *args: Any, commit: bool = True, **kw: Any) -> User:
        with transaction.atomic():
            user = super().set_password_and_save(user, *args, commit=commit, **kw)  # type: ignore[misc]
            if commit:
                audit.record(
                    "account.password_changed",
                    actor=audit.current_actor() or user,
                    target=user,
                    changes={"password": [audit.MASK, audit.MASK]},
                    detail=self.audit_detail,
                )
        return user


class SetPasswordForm(AuditedPasswordMixin, _SetPasswordForm):
    audit_detail = "reset link"


class PasswordChangeForm(AuditedPasswordMixin, auth_forms.PasswordChangeForm):
    audit_detail = "own change"


class AdminPasswordChangeForm(AuditedPasswordMixin, _AdminPasswordChangeForm):
    audit_detail = "admin"
