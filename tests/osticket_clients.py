"""Requests as osTicket's own clients send them, for the compatibility tests.

Facts read from osTicket's scripts (osTicket/osTicket, setup/scripts/): each client
below sends the same method, path, headers, content type and body, and reads the answer
the same way. Nothing of their code is here.

- automail.php (remote mail piping): curl POST of the raw message to
  /api/tickets.email with the headers `Expect:` (empty) and `X-API-Key`, user agent
  "osTicket API Client v1.14"; the body is a string, so curl labels it
  application/x-www-form-urlencoded. It maps the answer's status to the MTA's exit
  code: 201 -> 0; 400 -> 66; 401, 403 -> 77; 415, 416, 417, 501 -> 65; 503 -> 69;
  anything else (500, 202, 200, ...) -> 75, which makes the MTA try again later.
- automail.pl: the same with Perl's LWP, Content-Type text/plain, and the same table.
- api_ticket_create.php (the sample API client): curl POST of json_encode($data) to
  /api/tickets.json, user agent "osTicket API Client v1.7", `Expect:`, form-urlencoded
  content type; anything but 201 is a failure; the body is cast to an int as the
  ticket's id.
- rcron.php: an empty POST to /api/tasks/cron, same headers; success is exactly 200.
"""

import json

from django.test import Client

UA_PIPE = "osTicket API Client v1.14"
UA_API = "osTicket API Client v1.7"
CURL_FORM = "application/x-www-form-urlencoded"


def exit_code(status: int) -> int:
    """automail.php's and automail.pl's exit code for an HTTP status."""
    if status == 201:
        return 0
    if status == 400:
        return 66
    if status in (401, 403):
        return 77
    if status in (415, 416, 417, 501):
        return 65
    if status == 503:
        return 69
    return 75


def php_json(data) -> bytes:
    """PHP's json_encode() with its default flags: no spaces, '/' escaped, non-ASCII as
    \\u escapes."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    return text.replace("/", "\\/").encode("ascii")


def automail_php(raw: bytes, key: str, *, client: Client | None = None):
    return (client or Client()).post(
        "/api/tickets.email",
        data=raw,
        content_type=CURL_FORM,
        HTTP_X_API_KEY=key,
        HTTP_USER_AGENT=UA_PIPE,
        HTTP_EXPECT="",
    )


def automail_pl(raw: bytes, key: str):
    return Client().post(
        "/api/tickets.email",
        data=raw,
        content_type="text/plain",
        HTTP_X_API_KEY=key,
        HTTP_USER_AGENT=UA_PIPE,
    )


def sample_client(data: dict, key: str, path: str = "/api/tickets.json"):
    return Client().post(
        path,
        data=php_json(data),
        content_type=CURL_FORM,
        HTTP_X_API_KEY=key,
        HTTP_USER_AGENT=UA_API,
        HTTP_EXPECT="",
    )


def xml_client(xml: bytes, key: str):
    """The documented XML request (setup/doc/api/tickets.md), sent as curl would."""
    return Client().post(
        "/api/tickets.xml",
        data=xml,
        content_type=CURL_FORM,
        HTTP_X_API_KEY=key,
        HTTP_USER_AGENT=UA_API,
        HTTP_EXPECT="",
    )


def rcron(key: str):
    return Client().post(
        "/api/tasks/cron",
        data=b"",
        content_type=CURL_FORM,
        HTTP_X_API_KEY=key,
        HTTP_USER_AGENT=UA_API,
        HTTP_EXPECT="",
    )
