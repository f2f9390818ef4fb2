"""Every bound on input, in one place: the forms (panel, portal) and the API's
serializers read the same numbers, so a client or an agent meets the same limits
whichever way they come in. Lists are refused over their maximum before any database
work (helpdesk.api.bounds); attachment types are threads.attachments' policy.
"""

from django.conf import settings

# items in one list of a request body or form
MAX_COLLABORATORS = 50  # collaborators named when opening a ticket
MAX_RECIPIENTS = 50  # collaborators a reply is sent to (cc)
MAX_CUSTOM_FIELDS = 100  # custom field values in one ticket
MAX_BULK_IDS = 100  # tickets in one bulk action; sources of one merge
MAX_TEAM_MEMBERS = 500
MAX_ORGANIZATION_DOMAINS = 100
MAX_WEBHOOK_EVENTS = 64
MAX_ID = 2**63 - 1  # the largest primary key a column holds
BODY_ROOM = 1024 * 1024  # the text of a request beside its files


def max_attachment_bytes() -> int:
    return settings.HELPDESK["MAX_ATTACHMENT_BYTES"]


def max_attachments_hard() -> int:
    """Files per message for agents and API keys, and the most any caller may send."""
    return settings.HELPDESK["MAX_ATTACHMENTS"]


def max_attachments_for_clients() -> int:
    """The portal's setting (an admin's choice), never above the hard maximum."""
    from helpdesk.portal.models import PortalSettings

    return min(PortalSettings.load().max_attachments, max_attachments_hard())


def base64_size(size: int) -> int:
    return 4 * ((size + 2) // 3)


def max_body_bytes() -> int:
    """The largest request body of the API: the operator's API_MAX_BODY_BYTES, or by
    default what the largest allowed message needs (every file at the size limit, in
    base64, plus room for the text)."""
    configured = settings.HELPDESK_API["MAX_BODY_BYTES"]
    if configured:
        return configured
    return base64_size(max_attachment_bytes()) * max_attachments_hard() + BODY_ROOM


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"
