"""The portal's landing page."""

from django.shortcuts import render

from helpdesk.kb.faq_selectors import categories_public, faqs_featured

from ..kb_access import kb_readable
from ..models import PortalSettings
from ..viewer import viewer_for


def home(request):
    viewer = viewer_for(request)
    config = PortalSettings.load()
    show_kb = kb_readable(viewer, config)
    context = {
        "viewer": viewer,
        "config": config,
        "show_kb": show_kb,
        "featured": list(faqs_featured()) if show_kb else [],
        "categories": list(categories_public()) if show_kb else [],
    }
    return render(request, "portal/home.html", context)
