"""Is the From address of a message authentic? A verdict from the receiving server's
`Authentication-Results` header (RFC 8601), parsed by `authres` (the reference
implementation used by dkimpy and the OpenDMARC tooling).

Only one header counts: the topmost `Authentication-Results`, and only when it is
stamped by a trusted `authserv-id` (settings MAIL_AUTHSERV_IDS). The receiving server
adds its own on top of whatever the message arrived with (RFC 8601 section 5: believe
only what your own border adds), so every header below the topmost, whatever id it
names, may be the sender's own forgery: a DKIM pass under our DKIM fail, a DMARC pass
where our header has no DMARC result. Within that header the results count as given
(DMARC's rule for DKIM: one aligned signature that passed is enough). An MTA that adds
several headers (one per milter) must put the one with the verdict on top: see
docs/email.md.

The From domain is verified when
- DMARC passed for it (`dmarc=pass header.from=<the From domain>`), or, without a
  DMARC verdict of fail,
- DKIM passed with a signing domain (`header.d`) aligned with it, or
- SPF passed with an envelope sender domain (`smtp.mailfrom`) aligned with it,
"aligned" in DMARC's relaxed sense: the same organisational domain (the registrable
domain under the Public Suffix List, from `publicsuffixlist`).

A From header that is not one plain mailbox (two addresses, an address hidden in the
display name) is never verified.
"""

from dataclasses import dataclass
from functools import cache

import authres
from django.conf import settings

from .parsing import ParsedMessage

TRUST = "trust"
NEW_TICKET = "new_ticket"
INTERNAL_NOTE = "internal_note"
POLICIES = (NEW_TICKET, INTERNAL_NOTE, TRUST)
HEADERS_NOT_READ = "Authentication-Results not read: the API key is not a mail relay"


@dataclass(frozen=True)
class Verdict:
    verified: bool  # the From domain is authenticated
    reason: str  # why: "dmarc=pass", "spf=pass aligned (...)", "no trusted ...", ...
    accepted: bool  # treated as the sender's own mail (verified, or trusted by policy)
    policy: str  # what happens to it when not accepted: new_ticket or internal_note

    @property
    def summary(self) -> str:
        if self.verified:
            return f"verified: {self.reason}"
        if self.accepted:
            return f"not verified ({self.reason}); accepted: MAIL_UNVERIFIED_POLICY=trust"
        return f"unverified sender: {self.reason}"


def trusted_ids() -> tuple[str, ...]:
    return tuple(i.lower() for i in settings.HELPDESK_MAIL.get("AUTHSERV_IDS", ()) if i)


def unverified_policy() -> str:
    return settings.HELPDESK_MAIL.get("UNVERIFIED_POLICY", NEW_TICKET)


@cache
def _psl():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()  # the list shipped with the package: no network


def organizational_domain(domain: str) -> str:
    domain = domain.lower().strip().rstrip(".")
    return _psl().privatesuffix(domain) or domain


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment: both domains share one organisational domain."""
    if not domain or not from_domain:
        return False
    return organizational_domain(domain) == organizational_domain(from_domain)


def _domain_of(value: str) -> str:
    value = (value or "").strip().strip("<>").lower()
    return value.rpartition("@")[2].rstrip(".")


def trusted_results(headers: list[str], ids: tuple[str, ...]) -> dict[str, list]:
    """{method: [results, in the header's order]} of the topmost header, when a trusted
    id stamped it; {} otherwise (no header, not RFC 8601, or another id on top)."""
    if not headers:
        return {}
    try:
        parsed = authres.all_features().parse_value(headers[0])
    except Exception:  # not RFC 8601: it cannot be ours
        return {}
    if str(parsed.authserv_id or "").lower() not in ids:
        return {}
    found: dict[str, list] = {}
    for result in parsed.results:
        method = str(getattr(result, "method", "") or "").lower()
        if method:
            found.setdefault(method, []).append(result)
    return found


def _props(result, ptype: str, name: str) -> str:
    for prop in getattr(result, "properties", []) or []:
        if str(prop.type).lower() == ptype and str(prop.name).lower() == name:
            return str(prop.value or "")
    return ""


def _from_results(results: dict[str, list], from_domain: str) -> tuple[bool, str]:
    dmarc = [r for r in results.get("dmarc", []) if _domain_of(_props(r, "header", "from"))]
    dmarc = [r for r in dmarc if _domain_of(_props(r, "header", "from")) == from_domain]
    if dmarc:
        outcome = str(dmarc[0].result).lower()
        if outcome == "pass":
            return True, "dmarc=pass"
        if outcome in ("fail", "quarantine", "reject"):
            return False, f"dmarc={outcome}"
    for result in results.get("dkim", []):
        signer = _domain_of(_props(result, "header", "d") or _props(result, "header", "i"))
        if str(result.result).lower() == "pass" and aligned(signer, from_domain):
            return True, f"dkim=pass aligned (header.d={signer})"
    for result in results.get("spf", [])[:1]:
        envelope = _domain_of(_props(result, "smtp", "mailfrom"))
        if str(result.result).lower() == "pass" and aligned(envelope, from_domain):
            return True, f"spf=pass aligned (smtp.mailfrom={envelope})"
    seen = [f"{m}={str(rs[0].result).lower()}" for m, rs in results.items() if m in _SHOWN]
    return False, "no aligned pass" + (f" ({', '.join(seen)})" if seen else "")


_SHOWN = ("dmarc", "dkim", "spf")


def authenticate(parsed: ParsedMessage, ids: tuple[str, ...]) -> tuple[bool, str]:
    """(verified, why) for the From domain of a parsed message."""
    if parsed.from_problem:
        return False, parsed.from_problem
    if not ids:
        return False, "no trusted Authentication-Results (MAIL_AUTHSERV_IDS is empty)"
    results = trusted_results(parsed.auth_results, ids)
    if not results:
        return False, "no trusted Authentication-Results"
    return _from_results(results, parsed.sender_domain)


def verdict(parsed: ParsedMessage, *, read_headers: bool = True) -> Verdict:
    """The verdict and what the settings make of it. Under MAIL_UNVERIFIED_POLICY=trust
    an unverified message is accepted, except one whose From header is flagged: that
    one is handled as new_ticket.

    `read_headers=False`: whoever handed us the message wrote all of it, trace headers
    included (raw mail posted to the API by a key that is not a mail relay), so its
    Authentication-Results prove nothing and the message is unverified."""
    if read_headers or parsed.from_problem:
        verified, reason = authenticate(parsed, trusted_ids())
    else:
        verified, reason = False, HEADERS_NOT_READ
    policy = unverified_policy()
    accepted = verified or (policy == TRUST and not parsed.from_problem)
    if policy == TRUST:
        policy = NEW_TICKET
    return Verdict(verified, reason[:250], accepted, policy)
