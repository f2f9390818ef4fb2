"""Whether a portal visitor may read the knowledge base (admins' portal settings)."""

from .models import PortalSettings


def kb_readable(viewer, config: PortalSettings | None = None) -> bool:
    config = config or PortalSettings.load()
    if not config.kb_enabled:
        return False
    return not config.kb_requires_login or viewer.is_client or viewer.is_agent
