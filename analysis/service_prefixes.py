"""Which ``--service`` values name a service (``AUDITED_SERVICE``): a prefix of the IAM catalog, the first label of an
event source the catalog maps to one (``monitoring``), or ``all``. A mistyped prefix matches no record and would
report "no denials" in silence: it is refused with the nearest known prefix."""

from __future__ import annotations

import difflib
from functools import cache

from analysis import catalog

EVERY_SERVICE = "all"


@cache
def known_service_prefixes() -> frozenset[str]:
    """The IAM catalog's service prefixes, and the event-source labels it maps to one (``monitoring`` for
    ``cloudwatch``): each a value ``denials.audits_service`` can match records with."""
    from policy_sentry.querying.all import get_all_service_prefixes  # loads the IAM database: only when asked

    prefixes = frozenset(get_all_service_prefixes())
    labels = {source.split(".", 1)[0] for prefix in prefixes for source in catalog.mapped_event_sources(prefix)}
    return prefixes | labels


def unknown_service(service: str) -> str | None:
    """Why ``service`` names no service, with the nearest prefix; None when it names one (or is ``all``)."""
    if service == EVERY_SERVICE or service in known_service_prefixes():
        return None
    nearest = difflib.get_close_matches(service, sorted(known_service_prefixes()), n=1)
    hint = f" (did you mean {nearest[0]}?)" if nearest else f" (a prefix such as apprunner or s3, or {EVERY_SERVICE})"
    return f"{service!r} is not a service prefix of the IAM catalog{hint}"
