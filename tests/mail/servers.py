"""Real peers for the slow tests: a throwaway Dovecot (IMAP and POP3) and an aiosmtpd
SMTP server capturing what we send. See ../shared/notes/real-servers-in-tests.md."""

import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from email import message_from_bytes, policy
from pathlib import Path

USERS = {"support@helpdesk.test": "secret", "billing@helpdesk.test": "secret"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Dovecot:
    """A private Dovecot on free ports, mail in a temporary maildir."""

    def __init__(self, root: Path):
        self.root = root
        self.imap_port, self.pop3_port = free_port(), free_port()
        self.base = root / "run"
        self.mail = root / "mail"

    def start(self) -> "Dovecot":
        os.chmod(self.root, 0o755)  # noqa: S103 - the dovecot user reads the passwd file and mail
        for d in (self.base, self.mail, self.root / "state"):
            d.mkdir(parents=True, exist_ok=True)
        passwd = self.root / "passwd"
        passwd.write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in USERS.items()))
        dovecot = pwd.getpwnam("dovecot")
        os.chown(self.mail, dovecot.pw_uid, dovecot.pw_gid)
        conf = self.root / "dovecot.conf"
        conf.write_text(
            f"""
protocols = imap pop3
listen = 127.0.0.1
base_dir = {self.base}
state_dir = {self.root / "state"}
log_path = {self.root / "dovecot.log"}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
mail_location = maildir:{self.mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {passwd}
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={self.mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {self.pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""
        )
        # the daemon keeps inherited pipes open: give it none
        subprocess.run(  # noqa: S603
            [shutil.which("dovecot") or "/usr/sbin/dovecot", "-c", str(conf)],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.imap_port)
        _wait_port(self.pop3_port)
        return self

    def stop(self) -> None:
        pid_file = self.base / "master.pid"
        if pid_file.exists():
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)

    def imap(self, user="support@helpdesk.test") -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.imap_port)
        conn.login(user, USERS[user])
        return conn

    def deliver(self, raw: bytes, folder="INBOX", user="support@helpdesk.test") -> None:
        conn = self.imap(user)
        try:
            conn.create(folder)
            typ, data = conn.append(folder, "", None, raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def folder(self, folder="INBOX", user="support@helpdesk.test") -> list[tuple[bytes, str]]:
        """(raw message, flags) of every message in a folder."""
        conn = self.imap(user)
        try:
            typ, _ = conn.select(f'"{folder}"')
            if typ != "OK":
                return []
            _, data = conn.uid("SEARCH", None, "ALL")
            out = []
            for uid in (data[0] or b"").split():
                _, parts = conn.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                raw = next(p[1] for p in parts if isinstance(p, tuple))
                flags = parts[0][0].decode() if isinstance(parts[0], tuple) else ""
                out.append((raw, flags))
            return out
        finally:
            conn.logout()


class SmtpSink:
    """aiosmtpd in a thread, keeping every message it is handed."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[dict] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.original_content, policy=policy.default),
            }
        )
        return "250 OK"

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
