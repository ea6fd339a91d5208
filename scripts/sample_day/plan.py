"""What a denial scenario is made of: who calls, which calls are refused and how, and what the report must say."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .actors import Actor
from .engine import Api, Day
from .forms import Form
from .world import PROD, US_EAST, Clock


@dataclass(frozen=True)
class Op:
    """One refused App Runner call: its event name, its requestParameters, what the message names."""

    event: str
    request: dict[str, Any] | None = None
    resource: str | None = None  # after "on resource:" in the message (None: the message names none)
    action: str | None = None  # the refused action, when it is not apprunner:<event> (iam:PassRole)

    @property
    def refused(self) -> str:
        return self.action or f"apprunner:{self.event}"


@dataclass(frozen=True)
class Later:
    """A caller whose session began at a time of the day being written: built from that day when it is played.

    Scenarios are defined once and played on any date, so a session's start (its ``creationDate`` and key)
    cannot be fixed when the scenario is defined.
    """

    build: Callable[[Day], Actor]


@dataclass(frozen=True)
class Issued:
    """Temporary credentials in a response: access key ``key``, issued at ``clock`` of the day being written."""

    key: str
    clock: Clock


@dataclass(frozen=True)
class CiWorkflow:
    """The session of a GitHub Actions run; ``kind`` "create" or "push" builds an image and deploys nothing."""

    run: int
    start: Clock
    service: str
    kind: str
    account: str = PROD
    region: str = US_EAST


@dataclass(frozen=True, kw_only=True)
class Denials:
    """Refused App Runner calls by one caller, all worded by ``form``."""

    actor: Actor | Later | CiWorkflow
    form: Form
    region: str = US_EAST
    code: str = "AccessDeniedException"
    recipient: str | None = None  # the account whose log holds them; default: the caller's
    vpce: str | None = None
    late: int | None = None  # delivery slots late; None: as chance has it

    def ops(self) -> tuple[Op, ...]:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True)
class Timeline(Denials):
    """Refusals at given times; those at a time in ``duplicated`` are delivered twice."""

    calls: tuple[tuple[Clock, Op], ...]
    duplicated: tuple[Clock, ...] = ()

    def ops(self) -> tuple[Op, ...]:
        return tuple(op for _, op in self.calls)


@dataclass(frozen=True, kw_only=True)
class Paced(Denials):
    """Refusals one after another from ``start``, a random ``gap`` of seconds apart."""

    start: Clock
    gap: tuple[int, int]
    calls: tuple[Op, ...]

    def ops(self) -> tuple[Op, ...]:
        return self.calls


@dataclass(frozen=True)
class After:
    """Seconds after the end of the scenario's previous burst or refusals."""

    seconds: int


@dataclass(frozen=True)
class Refusal:
    """The error of a one-off call."""

    code: str
    form: Form
    action: str
    resource: str | None = None


@dataclass(frozen=True)
class Drawn:
    """A random hex string in a request, drawn when the record is written."""

    digits: int
    prefix: str = ""


@dataclass(frozen=True, kw_only=True)
class Call:
    """A one-off record around the refusals: a sign-in, an STS call, a denial in another service."""

    actor: Actor | Later
    at: Clock | After
    source: str
    name: str
    region: str = US_EAST
    request: Any = None
    response: Any = None
    refusal: Refusal | None = None
    recipient: str | None = None
    resources: list[dict[str, str]] | None = None
    additional: dict[str, Any] | None = None
    read_only: bool | None = None
    event_type: str = "AwsApiCall"


@dataclass(frozen=True)
class Successes:
    """Successful calls in a row from ``start``, a random ``gap`` of seconds apart."""

    actor: Actor | Later
    start: Clock
    calls: tuple[Api, ...]
    gap: tuple[int, int]


Step = Timeline | Paced | Call | Successes


@dataclass(frozen=True)
class Expect:
    """The finding the report must give: its principal and account, the remedy kind, phrases in its notes."""

    remedy: str
    principal: str | None  # the canonical ARN (None: an AWS service)
    account: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Scenario:
    key: str
    title: str
    principal: str  # SAMPLE_DAY.md's principal column (Markdown)
    detail: str = ""  # after the refused calls in SAMPLE_DAY.md
    conclusion: str  # after the remedy kind in SAMPLE_DAY.md
    expect: Expect
    steps: tuple[Step, ...]

    def series(self) -> list[Denials]:
        return [step for step in self.steps if isinstance(step, Denials)]

    def refusals(self) -> list[tuple[Op, Form]]:
        """Every refused App Runner call the scenario writes (one record each, before duplicate deliveries)."""
        return [(op, series.form) for series in self.series() for op in series.ops()]

    @property
    def count(self) -> int:
        return len(self.refusals())

    def calls(self) -> Counter[tuple[str, str]]:
        """(event name, refused action) -> records, in the order they first appear."""
        return Counter((op.event, op.refused) for op, _ in self.refusals())

    def expected_actions(self) -> dict[str, tuple[int, list[str]]]:
        """Refused action -> (records, the reasons its messages give), as the finding must list them."""
        counts: Counter[str] = Counter()
        reasons: defaultdict[str, set[str]] = defaultdict(set)
        for op, form in self.refusals():
            counts[op.refused] += 1
            reasons[op.refused].add(form.reason)
        return {action: (count, sorted(reasons[action])) for action, count in counts.items()}
