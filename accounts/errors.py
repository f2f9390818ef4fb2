"""Domain errors shared by every app.

Services raise these; one DRF exception handler and one view helper in `helpdesk`
turn them into problem details (API) or form messages (panel, portal). The `code` is
stable and machine-readable; the message is for people.
"""


class DomainError(Exception):
    """Base of every refusal a service can give. `status` is the HTTP status it maps to."""

    status = 400
    default_code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields: dict[str, list[str]] = fields or {}
        # machine-readable details beside the message (the API's problem document carries
        # them as extension members), e.g. the open tasks that stop a ticket closing
        self.extra: dict[str, object] = extra or {}

    def __str__(self) -> str:
        return self.message


class ValidationFailed(DomainError):
    """The input is well-formed but breaks a rule (a field error, a bad value)."""

    status = 422
    default_code = "invalid"


class PermissionRefused(DomainError):
    """The actor may see the object but lacks the permission for this action."""

    status = 403
    default_code = "permission_denied"


class NotVisible(DomainError):
    """The actor may not see the object; surfaces answer 404 so nothing leaks."""

    status = 404
    default_code = "not_found"


class Conflict(DomainError):
    """The action clashes with the current state (already assigned, illegal transition)."""

    status = 409
    default_code = "conflict"


class StaleVersion(Conflict):
    """The caller based the change on an older version of the object."""

    status = 412
    default_code = "stale_version"
