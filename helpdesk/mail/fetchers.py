"""Mail fetchers: one small strategy class per protocol behind `Fetcher`, picked by
settings.HELPDESK_MAIL["FETCHERS"][mailbox.protocol].

A fetcher lists pending messages, reads one without changing it on the server
(IMAP `BODY.PEEK[]`, POP3 `RETR`), and is told to finish it (move, delete or flag)
only after the message's ticket or entry is committed.
"""

import contextlib
import imaplib
import poplib
import re
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

from .models import Mailbox


class FetchError(Exception):
    """The server refused or failed: recorded on the mailbox, retried on the next run."""


@dataclass(frozen=True)
class Pending:
    uid: str  # stable server id: "<uidvalidity>:<uid>" (IMAP) or the UIDL (POP3)
    ref: str  # what the protocol needs to read or finish it in this session


class Fetcher:
    default_ports = {"ssl": 0, "starttls": 0, "none": 0}

    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox
        self.timeout = settings.HELPDESK_MAIL["FETCH_TIMEOUT_SECONDS"]

    @property
    def port(self) -> int:
        return self.mailbox.port or self.default_ports[self.mailbox.security]

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def pending(self, limit: int) -> list[Pending]:  # pragma: no cover - interface
        raise NotImplementedError

    def read(self, item: Pending) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError

    def finish(self, item: Pending) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


def _check(result, what: str):
    typ, data = result
    if typ != "OK":
        raise FetchError(f"{what}: {typ} {data!r}"[:500])
    return data


class ImapFetcher(Fetcher):
    default_ports = {"ssl": 993, "starttls": 143, "none": 143}

    def connect(self) -> None:
        mb, context = self.mailbox, ssl.create_default_context()
        try:
            if mb.security == Mailbox.Security.SSL:
                self.conn = imaplib.IMAP4_SSL(
                    mb.host, self.port, ssl_context=context, timeout=self.timeout
                )
            else:
                self.conn = imaplib.IMAP4(mb.host, self.port, timeout=self.timeout)
                if mb.security == Mailbox.Security.STARTTLS:
                    _check(self.conn.starttls(ssl_context=context), "STARTTLS")
            _check(self.conn.login(mb.username, mb.password), "LOGIN")
            _check(self.conn.select(self._quote(mb.folder)), f"SELECT {mb.folder}")
            validity = self.conn.untagged_responses.get("UIDVALIDITY", [b"0"])[0]
            self.validity = validity.decode() if isinstance(validity, bytes) else str(validity)
        except (imaplib.IMAP4.error, OSError) as exc:
            raise FetchError(f"IMAP {mb.host}:{self.port}: {exc}") from exc

    @staticmethod
    def _quote(folder: str) -> str:
        return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'

    def pending(self, limit: int) -> list[Pending]:
        # moved or deleted after import: everything left in the folder is pending, even
        # what a person read in a mail client; flagged after import: the unseen ones
        if self.mailbox.after_import == Mailbox.AfterImport.MARK_SEEN:
            criteria = ("UNDELETED", "UNSEEN")
        else:
            criteria = ("UNDELETED",)
        data = _check(self.conn.uid("SEARCH", None, *criteria), "SEARCH")
        uids = (data[0] or b"").split()
        # osTicket takes the latest N when more are waiting; we take the oldest N so a
        # backlog drains in order (nothing is skipped: the rest come next run)
        return [Pending(f"{self.validity}:{u.decode()}", u.decode()) for u in uids[:limit]]

    def read(self, item: Pending) -> bytes:
        data = _check(self.conn.uid("FETCH", item.ref, "(BODY.PEEK[])"), "FETCH")
        for part in data:
            if isinstance(part, tuple) and len(part) == 2:
                return part[1]
        raise FetchError(f"FETCH {item.ref}: no message body in {data!r}"[:300])

    def finish(self, item: Pending) -> None:
        mb = self.mailbox
        if mb.after_import == Mailbox.AfterImport.MOVE:
            self._move(item.ref, mb.archive_folder)
        elif mb.after_import == Mailbox.AfterImport.DELETE:
            _check(self.conn.uid("STORE", item.ref, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
            self._expunge(item.ref)
        else:
            _check(self.conn.uid("STORE", item.ref, "+FLAGS.SILENT", r"(\Seen)"), "STORE")

    def _move(self, ref: str, folder: str) -> None:
        quoted = self._quote(folder)
        self.conn.create(quoted)  # fails harmlessly when it exists
        if b"MOVE" in b" ".join(self._capabilities()):
            _check(self.conn.uid("MOVE", ref, quoted), "MOVE")
            return
        _check(self.conn.uid("COPY", ref, quoted), "COPY")
        _check(self.conn.uid("STORE", ref, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
        self._expunge(ref)

    def _capabilities(self) -> list[bytes]:
        return [c.encode() if isinstance(c, str) else c for c in self.conn.capabilities]

    def _expunge(self, ref: str) -> None:
        if b"UIDPLUS" in b" ".join(self._capabilities()):
            _check(self.conn.uid("EXPUNGE", ref), "UID EXPUNGE")
        else:
            _check(self.conn.expunge(), "EXPUNGE")

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is None:
            return
        try:
            conn.close()
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


class Pop3Fetcher(Fetcher):
    """POP3 has one folder and no flags: finish deletes, or leaves the message (our
    record of its UIDL keeps it from being imported twice)."""

    default_ports = {"ssl": 995, "starttls": 110, "none": 110}
    _UIDL = re.compile(rb"^(\d+)\s+(\S+)$")

    def connect(self) -> None:
        mb, context = self.mailbox, ssl.create_default_context()
        try:
            if mb.security == Mailbox.Security.SSL:
                self.conn = poplib.POP3_SSL(
                    mb.host, self.port, context=context, timeout=self.timeout
                )
            else:
                self.conn = poplib.POP3(mb.host, self.port, timeout=self.timeout)
                if mb.security == Mailbox.Security.STARTTLS:
                    self.conn.stls(context=context)
            self.conn.user(mb.username)
            self.conn.pass_(mb.password)
        except (poplib.error_proto, OSError) as exc:
            raise FetchError(f"POP3 {mb.host}:{self.port}: {exc}") from exc

    def pending(self, limit: int) -> list[Pending]:
        items = []
        for line in self.conn.uidl()[1]:
            match = self._UIDL.match(line.strip())
            if match:
                items.append(Pending(match.group(2).decode(), match.group(1).decode()))
        return items

    def read(self, item: Pending) -> bytes:
        try:
            _, lines, _ = self.conn.retr(int(item.ref))
        except poplib.error_proto as exc:
            raise FetchError(f"RETR {item.ref}: {exc}") from exc
        return b"\r\n".join(lines) + b"\r\n"

    def finish(self, item: Pending) -> None:
        if self.mailbox.after_import == Mailbox.AfterImport.DELETE:
            self.conn.dele(int(item.ref))

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is None:
            return
        with contextlib.suppress(poplib.error_proto, OSError):
            conn.quit()  # deletions take effect here


def fetcher_for(mailbox: Mailbox) -> Fetcher:
    path = settings.HELPDESK_MAIL["FETCHERS"][mailbox.protocol]
    return import_string(path)(mailbox)
