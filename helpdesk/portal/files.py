"""Serving stored files to browsers: the helpdesk's one download response (also used by
the knowledge base)."""

from helpdesk.downloads import file_response

__all__ = ["file_response"]
