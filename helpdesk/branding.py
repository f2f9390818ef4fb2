"""Who runs this helpdesk, for the page headers of the portal and the panel: the
organization's name and logo (settings HELPDESK_ORG_NAME, HELPDESK_ORG_LOGO)."""

from django.conf import settings
from django.templatetags.static import static


def logo_url(value: str) -> str:
    """A site path ("/media-free/logo.png") as it is; anything else names a file under
    the static folders ("brand/logo.svg"). Images from other sites are not offered: the
    Content-Security-Policy (helpdesk.security) allows this site's images only."""
    if not value or value.startswith("/"):
        return value
    return static(value)


def branding(request) -> dict[str, dict[str, str]]:
    """Template context: `brand.name` (empty: the product's own name is shown) and
    `brand.logo` (empty: no image)."""
    return {
        "brand": {
            "name": settings.HELPDESK_ORG_NAME,
            "logo": logo_url(settings.HELPDESK_ORG_LOGO),
        }
    }
