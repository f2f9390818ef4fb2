"""Template helpers of the portal: who is looking (for the menu) and small formatters."""

from django import template

from ..kb_access import kb_readable
from ..models import PortalSettings
from ..viewer import viewer_for

register = template.Library()


@register.simple_tag(takes_context=True)
def portal_state(context) -> dict:
    """{viewer, kb, register, tz}: what the menu offers to this visitor, and the time
    zone dates are shown in (the client's own; UTC otherwise)."""
    request = context.get("request")
    if request is None:
        return {"viewer": None, "kb": False, "register": False, "tz": "UTC"}
    config = PortalSettings.load()
    viewer = viewer_for(request)
    return {
        "viewer": viewer,
        "kb": kb_readable(viewer, config),
        "register": config.registration == PortalSettings.Registration.OPEN,
        "tz": getattr(viewer.user, "timezone", "") or "UTC",
    }
