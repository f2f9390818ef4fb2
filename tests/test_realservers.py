"""The rule for real servers (tests/realservers.py): a missing server skips its tests with
a reason that names it and how to get it; REQUIRE_REAL_SERVERS=1 turns that into a failure."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import realservers

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def dovecot_missing(monkeypatch):
    """Dovecot reported missing, whatever this machine has."""
    monkeypatch.setenv("REAL_SERVERS_PRETEND_MISSING", "dovecot")
    realservers.missing.cache_clear()
    yield
    realservers.missing.cache_clear()


def test_a_missing_server_skips_with_its_name_and_how_to_get_it(dovecot_missing, monkeypatch):
    monkeypatch.delenv("REQUIRE_REAL_SERVERS", raising=False)

    with pytest.raises(pytest.skip.Exception) as skipped:
        realservers.require("dovecot")

    assert str(skipped.value) == (
        "needs Dovecot (IMAP and POP3): REAL_SERVERS_PRETEND_MISSING names it "
        "(get it: Debian packages dovecot-imapd dovecot-pop3d)"
    )


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_with_the_variable_a_missing_server_fails_and_names_it(dovecot_missing, monkeypatch, value):
    monkeypatch.setenv("REQUIRE_REAL_SERVERS", value)

    with pytest.raises(pytest.fail.Exception) as failed:
        realservers.require("dovecot")

    assert str(failed.value).startswith("needs Dovecot (IMAP and POP3): ")
    assert str(failed.value).endswith("REQUIRE_REAL_SERVERS is set, so this is a failure")


@pytest.mark.parametrize("value", ["", "0", "no"])
def test_without_the_variable_it_stays_a_skip(dovecot_missing, monkeypatch, value):
    monkeypatch.setenv("REQUIRE_REAL_SERVERS", value)

    with pytest.raises(pytest.skip.Exception):
        realservers.require("dovecot")


def test_a_server_that_is_there_neither_skips_nor_fails(monkeypatch):
    monkeypatch.setenv("REQUIRE_REAL_SERVERS", "1")
    monkeypatch.setitem(
        realservers.SERVERS,
        "dovecot",
        realservers.RealServer(
            **{**realservers.SERVERS["dovecot"].__dict__, "check": lambda: None}
        ),
    )
    realservers.missing.cache_clear()
    try:
        assert realservers.require("dovecot") is None
    finally:
        realservers.missing.cache_clear()


def test_the_checks_find_what_is_missing(monkeypatch, settings):
    settings.REDIS_URL = ""
    assert realservers.SERVERS["redis"].check() == "REDIS_URL is not set"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    assert realservers.SERVERS["redis"].check().startswith("127.0.0.1:1 does not answer")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert realservers.SERVERS["dovecot"].check() == "`dovecot` is not on PATH"


CASE = """
import pytest

pytestmark = pytest.mark.dovecot


def test_marked():
    raise AssertionError("a test whose server is missing must not run")


@pytest.mark.redis
def test_two_markers():
    raise AssertionError("a test whose server is missing must not run")


def test_by_its_fixture(dovecot):
    raise AssertionError("a test whose server is missing must not run")
"""


@pytest.mark.parametrize("required", [False, True], ids=["skipped", "failed"])
def test_a_whole_run_lists_the_missing_servers_in_its_summary(tmp_path, required):
    """pytest itself, in a subprocess, on tests that need Dovecot and Redis, which that
    run is told are missing: skipped and listed in the summary, or errors under the variable."""
    case = ROOT / "tests" / "mail" / f"test_zz_case_{os.getpid()}_{required:d}.py"
    case.write_text(CASE)
    env = {
        **os.environ,
        "REAL_SERVERS_PRETEND_MISSING": "dovecot,redis",
        "REQUIRE_REAL_SERVERS": "1" if required else "",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
    }
    try:
        run = subprocess.run(  # noqa: S603 - our own interpreter and pytest
            [sys.executable, "-m", "pytest", str(case), "-p", "no:cacheprovider", "-p", "no:xdist"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        case.unlink()
    out = run.stdout + run.stderr
    assert "must not run" not in out, out
    if required:
        assert run.returncode == 1, out
        assert "3 errors" in out, out
        assert out.count("REQUIRE_REAL_SERVERS is set, so this is a failure") >= 3, out
        assert "needs Redis: REAL_SERVERS_PRETEND_MISSING names it" in out, out
    else:
        assert run.returncode == 0, out
        assert "3 skipped" in out, out
        assert "SKIPPED [" in out and "needs Dovecot (IMAP and POP3)" in out, out
        assert "get it: Debian packages dovecot-imapd dovecot-pop3d" in out, out


def test_the_readme_lists_every_server_and_the_variable():
    readme = (ROOT / "README.md").read_text()
    assert "REQUIRE_REAL_SERVERS" in readme
    for server in realservers.SERVERS.values():
        assert f"`{server.marker}`" in readme, server.marker
