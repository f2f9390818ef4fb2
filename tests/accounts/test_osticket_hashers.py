"""osTicket's stored password hashes: verified, turned into Django's stored form by
`from_osticket`, and upgraded to Django's hasher at the first sign-in through the real
panel and portal login views.

The hashes are made as osTicket makes them (include/PasswordHash.php,
include/class.passwd.php): bcrypt `$2a$08$` (phpass, crypt()) and `$2y$10$` (PHP's
password_hash; the same algorithm as the library's `$2b$`), phpass portable `$P$`, and
the plain MD5 of very old accounts.
"""

import hashlib
import secrets

import bcrypt
import pytest
from django.contrib.auth.hashers import check_password, is_password_usable
from django.test import Client

import config.settings as project
from accounts.hashers import ITOA64, OsTicketBcryptHasher, from_osticket, phpass_portable
from accounts.models import User

from ..factories import AgentFactory, ClientFactory

PASSWORD = "Corr3ct horse, battery staple"
OSTICKET = [
    "accounts.hashers.OsTicketBcryptHasher",
    "accounts.hashers.OsTicketPhpassHasher",
    "accounts.hashers.OsTicketMD5Hasher",
]


@pytest.fixture
def hashers(settings):
    """osTicket's hashers after a fast one of Django's (the tests' MD5)."""
    settings.PASSWORD_HASHERS = [*settings.PASSWORD_HASHERS, *OSTICKET]
    return settings.PASSWORD_HASHERS


@pytest.fixture
def project_hashers(settings):
    """The project's own list, Django's PBKDF2 first (slow: for the sign-in tests)."""
    settings.PASSWORD_HASHERS = project.PASSWORD_HASHERS
    return settings.PASSWORD_HASHERS


def bcrypt_php(password: str, *, prefix: str = "$2y$", cost: int = 10) -> str:
    """As PHP's password_hash(PASSWORD_BCRYPT) ($2y$) or phpass's crypt() ($2a$08$)."""
    made = bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(cost)).decode()
    return prefix + made[4:]


def phpass_hash(password: str, log2: int = 8) -> str:
    """As phpass HashPassword() with portable hashes: '$P$', the rounds' character
    (iteration_count_log2 + 5 on PHP 5+), 8 characters of salt."""
    salt = "".join(secrets.choice(ITOA64) for _ in range(8))
    made = phpass_portable(password.encode(), f"$P${ITOA64[log2 + 5]}{salt}")
    assert made is not None
    return made


def md5_hash(password: str) -> str:
    return hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()


# --- the hashers ---------------------------------------------------------------------


def test_phpass_matches_the_published_test_vector():
    """phpass's own test.php checks 'test12345' against this hash."""
    known = "$P$9IQRaTwmfeRo7ud9Fh4E2PdI0S3r.L0"
    assert phpass_portable(b"test12345", known[:12]) == known
    assert phpass_portable(b"test12346", known[:12]) != known


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("bcrypt $2y$ (password_hash)", lambda p: bcrypt_php(p)),
        ("bcrypt $2a$08$ (phpass)", lambda p: bcrypt_php(p, prefix="$2a$", cost=8)),
        ("phpass portable $P$", phpass_hash),
        ("phpass as phpBB writes it, $H$", lambda p: "$H$" + phpass_hash(p)[3:]),
        ("plain md5", md5_hash),
        ("plain md5 in capitals", lambda p: md5_hash(p).upper()),
    ],
)
def test_each_osticket_hash_verifies_its_password_and_no_other(hashers, kind, make):
    stored = from_osticket(make(PASSWORD))

    assert stored.split("$", 1)[0] in {"osticket_bcrypt", "osticket_phpass", "osticket_md5"}
    assert check_password(PASSWORD, stored)
    assert not check_password(PASSWORD + "!", stored)
    assert not check_password("", stored)


def test_bcrypt_reads_72_bytes_of_a_password_as_php_does(hashers):
    long = "é" * 40  # 80 bytes in UTF-8
    stored = from_osticket(bcrypt_php(long))

    assert check_password(long, stored)
    assert check_password(long[:36] + "different tail", stored)  # PHP's crypt() too


@pytest.mark.parametrize(
    "hash",
    [
        "",
        "   ",
        "*0",  # phpass's failure marker
        "$1$saltsalt$qjXMvOEsNDfRc0f6fHOrS/",  # crypt's MD5 (a plugin's)
        "_J9..rasmBYk8r9AiWNc",  # crypt's extended DES
        "$P$/" + "a" * 30,  # rounds phpass refuses (2^2)
        "$2y$10$tooshort",
        "5f4dcc3b5aa765d61d8327deb882cf9",  # 31 digits
        "{SSHA}abcdef",
    ],
)
def test_a_hash_that_cannot_be_verified_is_an_unusable_password(hashers, hash):
    stored = from_osticket(hash)

    assert not is_password_usable(stored)
    assert not check_password("", stored) and not check_password(hash, stored)


def test_the_osticket_hashers_never_hash_a_new_password():
    with pytest.raises(NotImplementedError):
        OsTicketBcryptHasher().encode(PASSWORD, "salt")


def test_they_come_after_djangos_hashers():
    names = project.PASSWORD_HASHERS
    assert names[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert names[-3:] == OSTICKET


# --- signing in through the real views -----------------------------------------------


def _imported(user: User, osticket_hash: str) -> User:
    User.objects.filter(pk=user.pk).update(password=from_osticket(osticket_hash))
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("make", [bcrypt_php, md5_hash])
def test_an_imported_agent_signs_in_to_the_panel_and_is_upgraded(db, project_hashers, make):
    agent = _imported(AgentFactory(username="olga"), make(PASSWORD))
    old = agent.password

    client = Client()
    response = client.post("/scp/login/", {"login": "olga", "password": PASSWORD})

    assert (response.status_code, response["Location"]) == (302, "/scp/")
    assert client.get("/scp/").status_code == 200
    agent.refresh_from_db()
    assert agent.password != old and agent.password.startswith("pbkdf2_sha256$")
    assert agent.check_password(PASSWORD)


@pytest.mark.parametrize("make", [phpass_hash, lambda p: bcrypt_php(p, prefix="$2a$", cost=8)])
def test_an_imported_client_signs_in_to_the_portal_and_is_upgraded(db, project_hashers, make):
    client_user = _imported(ClientFactory(email="carla@example.org"), make(PASSWORD))

    client = Client()
    response = client.post("/login/", {"username": "carla@example.org", "password": PASSWORD})

    assert (response.status_code, response["Location"]) == (302, "/tickets/")
    client_user.refresh_from_db()
    assert client_user.password.startswith("pbkdf2_sha256$")
    assert client_user.check_password(PASSWORD)


def test_a_wrong_password_is_refused_and_the_old_hash_kept(db, hashers, nothing_written):
    agent = _imported(AgentFactory(username="olga"), bcrypt_php(PASSWORD))
    portal_user = _imported(ClientFactory(email="carla@example.org"), phpass_hash(PASSWORD))

    with nothing_written(only_new=("accounts.auditentry",)) as watch:  # the refusals' record
        panel = Client().post("/scp/login/", {"login": "olga", "password": "guess"})
        portal = Client().post("/login/", {"username": "carla@example.org", "password": "guess"})

    assert [r["action"] for r in watch.added["accounts.auditentry"]] == ["signin.failed"] * 2
    assert panel.status_code == 200 and "Wrong username, email or password." in panel.text
    assert portal.status_code == 200
    assert User.objects.get(pk=agent.pk).password == agent.password
    assert User.objects.get(pk=portal_user.pk).password == portal_user.password


def test_an_unverifiable_hash_leaves_the_account_unusable(db, hashers, nothing_written):
    agent = _imported(AgentFactory(username="olga"), "$1$saltsalt$qjXMvOEsNDfRc0f6fHOrS/")

    with nothing_written(only_new=("accounts.auditentry",)):  # the refusal's record
        response = Client().post("/scp/login/", {"login": "olga", "password": PASSWORD})

    assert response.status_code == 200
    assert not agent.has_usable_password()
