"""The sender verdict: RFC 8601 Authentication-Results from a trusted authserv-id only,
DMARC or aligned SPF/DKIM, and a From header that is one plain mailbox."""

import pytest

from helpdesk.mail.authentication import aligned, authenticate, verdict
from helpdesk.mail.parsing import parse

from .conftest import AUTHSERV_ID, message

IDS = (AUTHSERV_ID,)
HIDES = "From hides another address in its display name"


def with_results(*values: str, sender="alice@acme.test", name="Alice Example") -> bytes:
    headers = "".join(f"Authentication-Results: {v}\r\n" for v in values)
    return headers.encode() + message(sender=sender, name=name)


def judge(raw: bytes, ids=IDS) -> tuple[bool, str]:
    return authenticate(parse(raw), ids)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("dmarc=pass (p=reject) header.from=acme.test", (True, "dmarc=pass")),
        (
            "dkim=pass header.d=acme.test header.s=s1; spf=fail smtp.mailfrom=x@evil.test",
            (True, "dkim=pass aligned (header.d=acme.test)"),
        ),
        (
            "spf=pass smtp.mailfrom=bounces@mail.acme.test",
            (True, "spf=pass aligned (smtp.mailfrom=mail.acme.test)"),
        ),
        (
            "dkim=pass header.d=mail.acme.test",
            (True, "dkim=pass aligned (header.d=mail.acme.test)"),
        ),
        (
            "dmarc=fail header.from=acme.test; dkim=pass header.d=acme.test",
            (False, "dmarc=fail"),
        ),
        (
            "spf=pass smtp.mailfrom=bounce@evil.test; dkim=pass header.d=evil.test",
            (False, "no aligned pass (spf=pass, dkim=pass)"),
        ),
        ("dkim=fail header.d=acme.test", (False, "no aligned pass (dkim=fail)")),
        ("none", (False, "no trusted Authentication-Results")),
        (
            "dmarc=pass header.from=other.test",
            (False, "no aligned pass (dmarc=pass)"),
        ),
    ],
)
def test_the_verdict_of_a_trusted_header(result, expected):
    assert judge(with_results(f"{AUTHSERV_ID}; {result}")) == expected


def test_relaxed_alignment_uses_the_organisational_domain_of_the_public_suffix_list():
    assert aligned("mail.example.co.uk", "example.co.uk")
    assert not aligned("other.co.uk", "example.co.uk")  # co.uk is a public suffix
    assert aligned("bounce.acme.test", "acme.test")


def test_without_trusted_ids_nothing_is_verified():
    raw = with_results(f"{AUTHSERV_ID}; dmarc=pass header.from=acme.test")

    assert judge(raw, ids=()) == (
        False,
        "no trusted Authentication-Results (MAIL_AUTHSERV_IDS is empty)",
    )


def test_a_header_stamped_by_another_host_is_ignored():
    raw = with_results("mx.evil.test; dmarc=pass header.from=acme.test")

    assert judge(raw) == (False, "no trusted Authentication-Results")


def test_a_forged_trusted_header_below_a_foreign_one_is_ignored():
    raw = with_results(
        "mx.evil.test; none",
        f"{AUTHSERV_ID}; dmarc=pass header.from=acme.test",
    )

    assert judge(raw) == (False, "no trusted Authentication-Results")


def test_only_the_topmost_trusted_header_counts():
    raw = with_results(
        f"{AUTHSERV_ID}; spf=fail smtp.mailfrom=alice@acme.test",
        f"{AUTHSERV_ID}; spf=pass smtp.mailfrom=alice@acme.test",
    )

    assert judge(raw) == (False, "no aligned pass (spf=fail)")


def test_a_forged_dkim_pass_below_our_dkim_fail_is_ignored():
    """The reviewer's first case: our MTA says the signature failed; the sender's own
    header with our id, lower down, says it passed."""
    raw = with_results(
        f"{AUTHSERV_ID}; dkim=fail header.d=acme.test",
        f"{AUTHSERV_ID}; dkim=pass header.d=acme.test",
    )

    assert judge(raw) == (False, "no aligned pass (dkim=fail)")


def test_a_forged_dmarc_pass_below_our_header_without_dmarc_is_ignored():
    """The reviewer's second case: our MTA's header has no DMARC result (an SPF pass for
    another domain); a forged one below supplies a DMARC pass for the From domain."""
    raw = with_results(
        f"{AUTHSERV_ID}; spf=pass smtp.mailfrom=bounce@evil.test",
        f"{AUTHSERV_ID}; dmarc=pass header.from=acme.test",
    )

    assert judge(raw) == (False, "no aligned pass (spf=pass)")


def test_within_our_header_any_aligned_dkim_signature_that_passed_counts():
    """A message may carry several signatures, one broken in transit: DMARC asks for
    one aligned pass, as given in our one header."""
    raw = with_results(f"{AUTHSERV_ID}; dkim=fail header.d=acme.test; dkim=pass header.d=acme.test")

    assert judge(raw) == (True, "dkim=pass aligned (header.d=acme.test)")


def test_an_unparsable_header_ends_the_trusted_run():
    raw = with_results("garbage without a semicolon", f"{AUTHSERV_ID}; dmarc=pass")

    assert judge(raw) == (False, "no trusted Authentication-Results")


@pytest.mark.parametrize(
    ("sender_header", "problem", "address"),
    [
        ('"alice@acme.test" <mallory@evil.test>', HIDES, "mallory@evil.test"),
        ("=?utf-8?q?alice=40acme.test?= <mallory@evil.test>", HIDES, "mallory@evil.test"),
        ("Alice (alice@acme.test) <mallory@evil.test>", HIDES, "mallory@evil.test"),
        ("alice@acme.test, mallory@evil.test", "From has 2 addresses", "alice@acme.test"),
        ("alice@acme.test <mallory@evil.test>", "From is malformed", "mallory@evil.test"),
        ("Alice <alice@acme.test>", "", "alice@acme.test"),
    ],
)  # fmt: skip
def test_a_from_that_is_not_one_plain_mailbox_is_flagged_and_never_verified(
    sender_header, problem, address
):
    raw = (
        f"Authentication-Results: {AUTHSERV_ID}; dmarc=pass header.from=acme.test\r\n"
        f"From: {sender_header}\r\nSubject: hi\r\nMessage-ID: <f@x.test>\r\n\r\nbody\r\n"
    ).encode()

    parsed = parse(raw)

    assert (parsed.sender_email, parsed.from_problem) == (address, problem)
    verified = authenticate(parsed, IDS)[0]
    assert verified is (problem == "" and address == "alice@acme.test")


def test_two_from_headers_are_flagged():
    raw = b"From: alice@acme.test\r\nFrom: bob@globex.test\r\nSubject: x\r\n\r\nbody\r\n"

    assert parse(raw).from_problem == "the message has 2 From headers"


def test_the_address_is_the_addr_spec_never_the_display_name():
    parsed = parse(message(name='"support@helpdesk.test"', sender="mallory@evil.test"))

    assert parsed.sender_email == "mallory@evil.test"
    assert parsed.sender_name == "support@helpdesk.test"


def test_the_policy_trust_accepts_unverified_mail_but_not_a_flagged_from(settings):
    settings.HELPDESK_MAIL = {**settings.HELPDESK_MAIL, "UNVERIFIED_POLICY": "trust"}

    plain = verdict(parse(message()))
    flagged = verdict(parse(message(name="bob@globex.test")))

    assert (plain.verified, plain.accepted) == (False, True)
    assert plain.summary == (
        "not verified (no trusted Authentication-Results (MAIL_AUTHSERV_IDS is empty)); "
        "accepted: MAIL_UNVERIFIED_POLICY=trust"
    )
    assert (flagged.verified, flagged.accepted, flagged.policy) == (False, False, "new_ticket")


def test_the_default_policy_accepts_nothing_unverified(settings):
    judged = verdict(parse(message()))

    assert (judged.verified, judged.accepted, judged.policy) == (False, False, "new_ticket")
    assert judged.summary == (
        "unverified sender: no trusted Authentication-Results (MAIL_AUTHSERV_IDS is empty)"
    )
