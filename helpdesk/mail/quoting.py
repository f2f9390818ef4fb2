"""Quoted history stripped from replies (osTicket's strip_quoted_reply).

Our outgoing mail to clients starts with the reply separator line; everything from
that line on is history. Without it, the usual markers of mail clients are used:
"On <date>, <name> wrote:", "-----Original Message-----", Outlook's "From: ... Sent:"
block, Gmail's and Thunderbird's quote containers. The full original stays in the raw
message stored with the entry.
"""

import re

from threads.html import html_to_text

_TEXT_MARKERS = [
    re.compile(r"^\s*On\b[^\n]{0,300}?\bwrote:\s*$", re.M | re.I),
    re.compile(r"^\s*On\b[^\n]{0,200}\n[^\n]{0,200}\bwrote:\s*$", re.M | re.I),
    re.compile(r"^\s*Le\b[^\n]{0,300}?a écrit\s*:\s*$", re.M | re.I),
    re.compile(r"^\s*Am\b[^\n]{0,300}?schrieb[^\n]{0,100}:\s*$", re.M | re.I),
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.M | re.I),
    re.compile(r"^\s*_{10,}\s*\n\s*From:\s", re.M),
    re.compile(r"^\s*From:\s[^\n]+\n\s*(Sent|Date):\s[^\n]+\n", re.M),
]

_HTML_MARKERS = [
    re.compile(r'<div[^>]*class="[^"]*gmail_quote[^"]*"', re.I),
    re.compile(r'<div[^>]*class="[^"]*moz-cite-prefix[^"]*"', re.I),
    re.compile(r'<blockquote[^>]*type="cite"', re.I),
    re.compile(r'<div[^>]*id="(divRplyFwdMsg|appendonsend)"', re.I),
    re.compile(r'<div[^>]*class="[^"]*yahoo_quoted[^"]*"', re.I),
    re.compile(r"-{2,}\s*Original Message\s*-{2,}", re.I),
    re.compile(r">\s*On\b[^<>]{0,300}?\bwrote:\s*<", re.I),
]


def _cut_text(body: str, separator: str) -> str:
    cut = len(body)
    if separator:
        pos = body.find(separator)
        if pos >= 0:
            cut = pos
    for pattern in _TEXT_MARKERS:
        match = pattern.search(body, 0, cut)
        if match:
            cut = min(cut, match.start())
    return body[:cut]


def _cut_html(body: str, separator: str) -> str:
    cut = len(body)
    if separator:
        pos = body.find(separator)
        if pos < 0:
            pos = body.find(separator.replace(">", "&gt;").replace("<", "&lt;"))
        if pos >= 0:
            cut = pos
    for pattern in _HTML_MARKERS:
        match = pattern.search(body, 0, cut)
        if match:
            start = match.start() + (1 if match.group(0).startswith(">") else 0)
            cut = min(cut, start)
    return body[:cut]


def strip_quoted(body: str, fmt: str, separator: str) -> str:
    """The new part of a reply; the whole body when nothing new would be left."""
    if not body:
        return body
    if fmt == "html":
        head = _cut_html(body, separator)
        # the sanitiser (threads.html) balances the tags left open by the cut
        return head if html_to_text(head).strip() else body
    head = _cut_text(body, separator).rstrip()
    return head if head.strip() else body
