"""HTML in and out of threads: sanitised with nh3 (ammonia) before anything is stored.

An entry keeps one body, in its own format (`stored_body` decides which): sanitised
HTML for an HTML entry, plain text for a text one. The other format (`body_html`, safe
to show in a page; `body_text`, for plain-text mail) is derived when it is read
(threads.models.OneBody). Everything a client, an email or an API call sends passes
through `sanitize_html` or `text_to_html` first.
"""

import html
import re
from html.parser import HTMLParser

import nh3

_TAGS = set(nh3.ALLOWED_TAGS) - {"map", "area", "nav", "header", "footer"} | {"font"}
_ATTRIBUTES = {
    **{k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items()},
    "a": {"href", "hreflang", "title"},
    "img": {"src", "alt", "width", "height", "title"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "font": {"color"},
    "*": {"title", "dir", "lang"},
}
# cid: keeps inline images from email working; they are rewritten to our attachment URLs
# when shown. No javascript:, no data: (a data: image can carry a tracking payload).
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


def sanitize_html(value: str) -> str:
    """Keep formatting, drop scripts, event handlers, styles and dangerous URLs."""
    if not value:
        return ""
    return nh3.clean(
        value,
        tags=_TAGS,
        clean_content_tags={
            "script",
            "style",
            "title",
            "head",
            "template",
            "noscript",
            "iframe",
            "object",
        },
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()


def text_to_html(value: str) -> str:
    """Plain text to safe HTML: escaped, paragraphs and line breaks kept."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not value:
        return ""
    paragraphs = re.split(r"\n{2,}", value)
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)


_BLOCK = {
    "p",
    "div",
    "br",
    "li",
    "tr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "pre",
    "table",
    "hr",
}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "head", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Readable plain text from HTML (for search, previews and text mail)."""
    if not value:
        return ""
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    text = "".join(parser.parts).replace("\xa0", " ")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def bodies(body: str, fmt: str) -> tuple[str, str]:
    """(sanitised html, plain text) for a body given as 'text' or 'html'."""
    if fmt == "html":
        clean = sanitize_html(body)
        return clean, html_to_text(clean)
    text = (body or "").replace("\r\n", "\n").strip()
    return text_to_html(text), text


def stored_body(fmt: str, html: str | None = None, text: str | None = None) -> str:
    """The one body an entry (or revision) keeps, from whichever of its bodies is given:
    the HTML for an HTML entry, the plain text for a text one; the other is derived
    when read (`derived_body`). The only place that decides what is stored."""
    if fmt == "html":
        return html if html is not None else text_to_html(text or "")
    return text if text is not None else html_to_text(html or "")


def derived_body(fmt: str, body: str, want: str) -> str:
    """An entry's body in format `want` ('html' or 'text') from its stored `body`."""
    if want == fmt:
        return body
    return text_to_html(body) if want == "html" else html_to_text(body)


_CID_SRC = re.compile(r"""src=(["'])cid:([^"']+)\1""")


def inline_images(body_html: str, urls: dict[str, str]) -> str:
    """Point `src="cid:..."` images of an email at our (permission-checked) URLs.

    Only whole src attributes of the sanitised HTML are rewritten, never a bare string
    match: a Content-ID is the sender's text and must not be able to open markup.
    `urls` maps content ids (without angle brackets) to URLs.
    """
    if not urls or "cid:" not in body_html:
        return body_html

    def swap(match: re.Match[str]) -> str:
        url = urls.get(html.unescape(match.group(2)).strip("<>"))
        return f'src="{html.escape(url)}"' if url else match.group(0)

    return _CID_SRC.sub(swap, body_html)
