"""Password hashers that verify osTicket's stored hashes, so agents and clients brought
over from osTicket sign in with their old passwords.

osTicket (`include/class.passwd.php`, `include/PasswordHash.php`, the `check_passwd` of
its agents and client accounts) stores:

- bcrypt, `$2a$08$...` from phpass with crypt(), or `$2y$...` from PHP's password_hash;
  checked with the `bcrypt` library (PHP's crypt reads at most 72 bytes of a password,
  so do we);
- phpass "portable" hashes, `$P$...` (`$H$` in phpBB's spelling): salted MD5 iterated
  2^n times, used where PHP had no bcrypt; implemented here from phpass's published
  algorithm (no maintained library has it);
- very old accounts: the plain MD5 of the password, 32 hexadecimal digits.

Each is a verify-only hasher (`encode` refuses: nothing is ever hashed this way again).
They are listed after Django's in `PASSWORD_HASHERS`, so Django re-hashes the password
with its own first hasher at the first successful sign-in. `from_osticket()` turns an
osTicket column into the form Django stores (`osticket_bcrypt$<hash>`), or into an
unusable password when the hash is none of these (the account then needs a reset).
"""

import hashlib
import re
from typing import Any

import bcrypt
from django.contrib.auth.hashers import BasePasswordHasher, make_password, mask_hash
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext_noop as _

ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BCRYPT = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}")
PHPASS = re.compile(r"\$[PH]\$[./0-9A-Za-z]{31}")
MD5 = re.compile(r"[0-9a-fA-F]{32}")
PHP_CRYPT_MAX_BYTES = 72  # crypt() reads no more of a bcrypt password


class _OsTicketHasher(BasePasswordHasher):
    """Verify-only: an osTicket hash, stored as `<algorithm>$<the hash as osTicket
    kept it>`."""

    pattern: re.Pattern[str]

    def stored(self, encoded: str) -> str | None:
        algorithm, _, value = encoded.partition("$")
        if algorithm != self.algorithm or not self.pattern.fullmatch(value):
            return None
        return value

    def encode(self, password: str, salt: str) -> str:
        raise NotImplementedError(
            f"{self.algorithm} only verifies hashes brought over from osTicket: list "
            "Django's hashers before it in PASSWORD_HASHERS."
        )

    def decode(self, encoded: str) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "hash": encoded.partition("$")[2], "salt": ""}

    def safe_summary(self, encoded: str) -> dict[Any, Any]:
        return {
            _("algorithm"): str(self.algorithm),
            _("hash"): mask_hash(encoded.partition("$")[2]),
        }

    def must_update(self, encoded: str) -> bool:
        return True  # never the preferred hasher: the password is re-hashed at sign-in

    def harden_runtime(self, password: str, encoded: str) -> None:
        pass


class OsTicketBcryptHasher(_OsTicketHasher):
    algorithm = "osticket_bcrypt"
    pattern = BCRYPT

    def verify(self, password: str, encoded: str) -> bool:
        value = self.stored(encoded)
        if value is None:
            return False
        secret = password.encode("utf-8", "surrogatepass")[:PHP_CRYPT_MAX_BYTES]
        try:
            return bool(bcrypt.checkpw(secret, value.encode("ascii")))
        except ValueError:  # e.g. a NUL byte in the password: never osTicket's
            return False


class OsTicketPhpassHasher(_OsTicketHasher):
    algorithm = "osticket_phpass"
    pattern = PHPASS

    def verify(self, password: str, encoded: str) -> bool:
        value = self.stored(encoded)
        if value is None:
            return False
        computed = phpass_portable(password.encode("utf-8", "surrogatepass"), value[:12])
        return computed is not None and constant_time_compare(computed, value)


class OsTicketMD5Hasher(_OsTicketHasher):
    algorithm = "osticket_md5"
    pattern = MD5

    def verify(self, password: str, encoded: str) -> bool:
        value = self.stored(encoded)
        if value is None:
            return False
        digest = hashlib.md5(password.encode("utf-8", "surrogatepass"), usedforsecurity=False)
        return constant_time_compare(digest.hexdigest(), value.lower())


def phpass_portable(password: bytes, setting: str) -> str | None:
    """phpass's portable hash of `password` with `setting` ($P$ or $H$, the log2 of the
    round count as one character of ITOA64, 8 characters of salt): MD5 of salt and
    password, then MD5 of the digest and the password 2^n times; None for a setting
    phpass refuses (rounds outside 2^7..2^30, a short salt)."""
    if len(setting) != 12 or setting[:3] not in ("$P$", "$H$"):
        return None
    log2 = ITOA64.find(setting[3])
    if not 7 <= log2 <= 30:
        return None
    salt = setting[4:12].encode("ascii")
    digest = hashlib.md5(salt + password, usedforsecurity=False).digest()
    for _round in range(1 << log2):
        digest = hashlib.md5(digest + password, usedforsecurity=False).digest()
    return setting + _encode64(digest)


def _encode64(data: bytes) -> str:
    """phpass's base-64: 3 bytes at a time, least significant first, ITOA64's alphabet;
    a last group of n bytes gives n + 1 characters."""
    out: list[str] = []
    for start in range(0, len(data), 3):
        group = data[start : start + 3]
        value = int.from_bytes(group, "little")
        out.extend(ITOA64[(value >> shift) & 0x3F] for shift in range(0, 6 * (len(group) + 1), 6))
    return "".join(out)


OSTICKET_HASHERS = (
    (BCRYPT, OsTicketBcryptHasher.algorithm),
    (PHPASS, OsTicketPhpassHasher.algorithm),
    (MD5, OsTicketMD5Hasher.algorithm),
)


def from_osticket(hash: str) -> str:
    """The password column Django keeps for an osTicket hash (an agent's `staff.passwd`,
    a client's `user_account.passwd`): `osticket_bcrypt$...`, `osticket_phpass$...` or
    `osticket_md5$...`, verified by the hashers above; an unusable password (the account
    needs a reset) when the hash is empty or of another kind (crypt's DES or MD5-crypt,
    a plugin's)."""
    value = (hash or "").strip()
    for pattern, algorithm in OSTICKET_HASHERS:
        if pattern.fullmatch(value):
            if algorithm == OsTicketPhpassHasher.algorithm and not 7 <= ITOA64.find(value[3]) <= 30:
                break  # rounds phpass itself refuses: it never verifies
            stored = value.lower() if algorithm == OsTicketMD5Hasher.algorithm else value
            return f"{algorithm}${stored}"
    return make_password(None)
