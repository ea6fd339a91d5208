"""Proof of a fix: iamprover (an IAM evaluator on Z3) shows the proposed policies allow exactly the refused requests.

Per finding, over ``remedy.policy`` and ``remedy.more_policies`` (for a cross-account role, the role's permissions):
coverage, each refused request the policies name is allowed (for every resource its pattern stands for, under each
value of the context the records imply); exactness, no other (action, resource, context) is allowed. For a
cross-account role, also: the trust policy lets the caller assume the role and the caller policy allows exactly that.
Needs the ``verify`` extra (iamprover, z3-solver); nothing on the report or alert path imports this module.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import z3
from iamprover.engine.conditions import encode_condition
from iamprover.engine.context import Context
from iamprover.engine.encoder import allowed
from iamprover.engine.patterns import globs_intersect, has_variable, matches_any
from iamprover.model import Policy as ParsedPolicy
from iamprover.model import Principal as ParsedPrincipal
from iamprover.model import Statement
from iamprover.parsers.iam import parse_policy_document

from analysis.contract import DeniedAction, Finding, Report, as_finding, as_report

Status = Literal["proven", "not_proven", "no_policy"]
Check = Literal["coverage", "exactness", "trust"]
Document = Literal["policy", "caller_policy", "trust_policy"]
TIMEOUT_MS = 20_000  # per query; a query the solver cannot settle in time is reported, never taken as proof
ASSUME_ROLE = "sts:assumerole"  # actions as IAM evaluates them: iamprover matches them lower-cased
# Every request IAM evaluates names an action "service:Name" and an ARN or "*" as its resource: counterexamples
# are looked for among those, so that they read as requests.
REQUEST_ACTION = "?*:?*"
REQUEST_ARN = "arn:*"


@dataclass(frozen=True)
class Request:
    """One request as IAM evaluates it; context keys not given may take any value."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    """Refused requests: the action, the resources (ARNs or IAM patterns; ``*``: any) and each context key's values."""

    action: str
    resources: tuple[str, ...]
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, denied: DeniedAction) -> Refusal:
        return cls(denied.action, tuple(denied.resources) or ("*",), denied.context)

    def count(self) -> int:
        """How many requests: resource patterns times combinations of context values."""
        return len(self.resources) * math.prod(max(len(values), 1) for values in self.context.values())


@dataclass(frozen=True)
class Counterexample:
    """A request that breaks the proof: still refused (coverage, trust) or allowed besides (exactness)."""

    check: Check
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)
    document: Document = "policy"  # the remedy's document the request was evaluated against

    def describe(self) -> str:
        context = "".join(f" {key}={value!r}" for key, value in sorted(self.context.items()))
        request = f"{self.action} on {self.resource or '(empty)'}{context}"
        outcome = "is allowed too" if self.check == "exactness" else "is still refused"
        where = "" if self.document == "policy" else f" ({self.document})"
        return f"{self.check}{where}: {request} {outcome}"


@dataclass(frozen=True)
class Proof:
    """The proof of one finding's proposed policies: status, counterexamples and what was checked."""

    finding_id: str
    principal: str | None
    kind: str | None
    status: Status
    counterexamples: tuple[Counterexample, ...] = ()
    problems: tuple[str, ...] = ()  # why a check could not be settled (solver timeout, role unknown)
    documents: int = 0
    statements: int = 0
    actions: int = 0  # refused actions the policies name
    requests: int = 0  # refused requests: resource patterns times context values, over those actions
    queries: int = 0

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def prove_report(report: Report | Mapping[str, Any], *, timeout_ms: int = TIMEOUT_MS) -> list[Proof]:
    return [prove_finding(finding, timeout_ms=timeout_ms) for finding in as_report(report).findings]


def prove_finding(finding: Finding | Mapping[str, Any], *, timeout_ms: int = TIMEOUT_MS) -> Proof:
    """Coverage and exactness of the finding's proposed policies, one small solver query at a time."""
    finding = as_finding(finding)
    remedy = finding.remedy
    documents = _documents(finding)
    base = Proof(finding.id, _principal_name(finding), remedy.kind if remedy else None, "no_policy")
    if not documents:
        return base
    policies = [parse_policy_document(f"proposed-{i}", document) for i, document in enumerate(documents)]
    refused = [Refusal.of(denied) for denied in finding.actions]
    targeted = [refusal for refusal in refused if _named_by(policies, refusal.action)]
    queries = _Queries(timeout_ms)
    counterexamples = [c for refusal in targeted if (c := _uncovered(policies, refusal, queries))]
    counterexamples += _excess(policies, refused, queries)
    if remedy is not None and remedy.trust_policy is not None and remedy.caller_policy is not None:
        counterexamples += _role_counterexamples(finding, refused, queries)
    return dataclasses.replace(
        base,
        status="not_proven" if counterexamples or queries.problems else "proven",
        counterexamples=tuple(counterexamples),
        problems=tuple(queries.problems),
        documents=len(documents),
        statements=sum(len(policy.statements) for policy in policies),
        actions=len(targeted),
        requests=sum(refusal.count() for refusal in targeted),
        queries=queries.count,
    )


def allowed_with(
    policies: Iterable[Mapping[str, Any]],
    request: Request,
    *,
    scps: Iterable[Mapping[str, Any]] = (),
    boundary: Mapping[str, Any] | None = None,
    session_policies: Iterable[Mapping[str, Any]] = (),
) -> bool:
    """Whether identity policies can allow the request under the SCPs, the permissions boundary and session
    policies (with the request's context as given, other keys free): False means no request context allows it."""
    parsed_boundary = parse_policy_document("boundary", dict(boundary)) if boundary is not None else None
    principal = ParsedPrincipal("principal", _parsed(policies, "identity"), permission_boundary=parsed_boundary)
    # A session policy caps the identity path as an SCP does (both must allow, either may deny); iamprover has
    # no session layer of its own, and this request's resource path is empty.
    caps = _parsed(scps, "scp") + _parsed(session_policies, "session")
    action, resource, ctx = _variables()
    solver = z3.Solver()
    solver.add(*_pinned(action, resource, ctx, request))
    solver.add(allowed(principal, action, resource, ctx, scps=caps))
    return bool(solver.check() == z3.sat)


def proof_line(proof: Proof) -> str:
    """One line of ``apprunner-audit verify``: finding id, principal, kind, status, first counterexample."""
    status = proof.status.replace("_", " ")
    parts = [proof.finding_id, proof.principal or "-", proof.kind or "-", status]
    reasons = [c.describe() for c in proof.counterexamples] + list(proof.problems)
    if reasons:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        parts.append(reasons[0] + more)
    return "  ".join(parts)


class _Queries:
    """The solver queries of one finding: a fresh solver each, with a time limit; counts and failures kept."""

    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        self.count = 0
        self.problems: list[str] = []

    def model(self, what: str, *constraints: Any) -> z3.ModelRef | None:
        """A model of the constraints, or None when there is none (or the solver could not tell: noted)."""
        answer, model = self.solve(what, *constraints)
        return model if answer else None

    def solve(self, what: str, *constraints: Any) -> tuple[bool | None, z3.ModelRef | None]:
        """Whether the constraints are satisfiable (None: the solver could not tell, noted) and a model if so."""
        self.count += 1
        solver = z3.Solver()
        solver.set("timeout", self.timeout_ms)
        solver.add(*constraints)
        answer = solver.check()
        if answer == z3.unknown:
            self.problems.append(f"{what}: the solver could not settle it ({solver.reason_unknown()})")
            return None, None
        return (True, solver.model()) if answer == z3.sat else (False, None)


def _documents(finding: Finding) -> list[dict[str, Any]]:
    remedy = finding.remedy
    if remedy is None:
        return []
    proposed = [remedy.policy] if remedy.policy is not None else []
    return [policy.model_dump(mode="json") for policy in [*proposed, *remedy.more_policies]]


def _principal_name(finding: Finding) -> str | None:
    return finding.principal.arn or finding.principal.key


def _parsed(documents: Iterable[Mapping[str, Any]], name: str) -> list[ParsedPolicy]:
    return [parse_policy_document(f"{name}-{i}", dict(document)) for i, document in enumerate(documents)]


def _named_by(policies: Sequence[ParsedPolicy], action: str) -> bool:
    """The policies name the action in an Allow statement (as written, or by a wildcard that matches it)."""
    patterns = [p for policy in policies for s in policy.statements if s.effect == "Allow" for p in s.actions]
    return any(globs_intersect(pattern.lower(), action.lower()) for pattern in patterns)


def _variables(prefix: str = "") -> tuple[z3.SeqRef, z3.SeqRef, Context]:
    return z3.String(f"{prefix}action"), z3.String(f"{prefix}resource"), Context(prefix)


def _pinned(action: z3.SeqRef, resource: z3.SeqRef, ctx: Context, request: Request) -> list[Any]:
    return [
        action == z3.StringVal(request.action.lower()),
        resource == z3.StringVal(request.resource),
        *(ctx.constrain(key, value) for key, value in request.context.items()),
    ]


def _uncovered(policies: list[ParsedPolicy], refusal: Refusal, queries: _Queries) -> Counterexample | None:
    """A refused request of this action (a resource one of its patterns stands for, any listed context value)
    that the policies still refuse; one query per pattern. Statements whose conditions or patterns iamprover
    only approximates are left out (an Allow) or made unconditional (a Deny): what is shown allowed is allowed."""
    principal = ParsedPrincipal("principal", [_under_approximated(policy) for policy in policies])
    for pattern in refusal.resources:
        action, resource, ctx = _variables()
        model = queries.model(
            f"coverage of {refusal.action} on {pattern}",
            action == z3.StringVal(refusal.action.lower()),
            matches_any(resource, [pattern]),
            *_context_of(ctx, refusal.context),
            z3.Not(allowed(principal, action, resource, ctx)),
        )
        if model is not None:
            return _counterexample("coverage", model, action, resource, ctx)
    return None


def _excess(policies: list[ParsedPolicy], refused: Sequence[Refusal], queries: _Queries) -> list[Counterexample]:
    """Requests the policies allow that the finding does not refuse: one query per Allow statement and action
    pattern (what the policies allow is the union of these), against the refusals of the actions it matches."""
    denies = [s for policy in policies for s in policy.statements if s.effect != "Allow"]
    found = []
    for piece in _allow_pieces(policies):
        pattern = piece.actions[0] if piece.actions else "*"
        relevant = [r for r in refused if piece.not_actions or globs_intersect(pattern.lower(), r.action.lower())]
        action, resource, ctx = _variables()
        model = queries.model(
            f"exactness of {pattern}",
            *_request_shape(action, resource),
            *[z3.Length(ctx.string(key)) > 0 for refusal in relevant for key in refusal.context],
            allowed(ParsedPrincipal("principal", [ParsedPolicy("piece", [piece, *denies])]), action, resource, ctx),
            *[z3.Not(_refused(refusal, action, resource, ctx)) for refusal in relevant],
        )
        found += [_counterexample("exactness", model, action, resource, ctx)] if model is not None else []
    return found


def _allow_pieces(policies: Sequence[ParsedPolicy]) -> Iterator[Statement]:
    """Each Allow statement once per action pattern it names (a NotAction statement whole)."""
    for policy in policies:
        for statement in policy.statements:
            if statement.effect != "Allow":
                continue
            if statement.not_actions:
                yield statement
            else:
                yield from (dataclasses.replace(statement, actions=[pattern]) for pattern in statement.actions)


def _refused(refusal: Refusal, action: z3.SeqRef, resource: z3.SeqRef, ctx: Context) -> Any:
    return z3.And(
        action == z3.StringVal(refusal.action.lower()),
        matches_any(resource, list(refusal.resources)),
        *_context_of(ctx, refusal.context),
    )


def _context_of(ctx: Context, context: Mapping[str, Sequence[str]]) -> Iterator[Any]:
    for key, values in context.items():
        yield z3.Or(*[ctx.constrain(key, value) for value in values]) if values else z3.BoolVal(True)


def _request_shape(action: z3.SeqRef, resource: z3.SeqRef) -> list[Any]:
    return [matches_any(action, [REQUEST_ACTION]), z3.Or(matches_any(resource, [REQUEST_ARN]), resource == "*")]


def _counterexample(
    check: Check, model: z3.ModelRef, action: z3.SeqRef, resource: z3.SeqRef, ctx: Context
) -> Counterexample:
    return Counterexample(
        check,
        model.eval(action, model_completion=True).as_string(),
        model.eval(resource, model_completion=True).as_string(),
        ctx.assignments(model),
    )


def _under_approximated(policy: ParsedPolicy) -> ParsedPolicy:
    """The policy as far as iamprover models it exactly: coverage shown for this holds for the real policy."""
    statements = []
    for statement in policy.statements:
        exact = _modelled_exactly(statement)
        if statement.effect == "Allow" and exact:
            statements.append(statement)
        elif statement.effect != "Allow":
            statements.append(statement if exact else dataclasses.replace(statement, conditions=[]))
    return ParsedPolicy(policy.name, statements)


def _modelled_exactly(statement: Statement) -> bool:
    patterns = [*statement.actions, *statement.not_actions, *statement.resources, *statement.not_resources]
    if any(has_variable(pattern) for pattern in patterns):
        return False
    return all(encode_condition(condition, Context("probe:")) is not None for condition in statement.conditions)


def _role_counterexamples(finding: Finding, refused: list[Refusal], queries: _Queries) -> list[Counterexample]:
    """The trust policy lets the caller assume the new role; the caller policy allows that, and of the refused
    requests those it names (actions that take no resource are granted where the caller is), and nothing else."""
    remedy = finding.remedy
    role = _role_arn(finding)
    if remedy is None or remedy.trust_policy is None or remedy.caller_policy is None or role is None:
        queries.problems.append("trust: the role's ARN is not known (no role_name or owning account)")
        return []
    found = []
    trusted = _trusted(finding, remedy.trust_policy.model_dump(mode="json"), role, queries)
    found += [trusted] if trusted else []
    caller_policy = [parse_policy_document("caller", remedy.caller_policy.model_dump(mode="json"))]
    refused = [Refusal(ASSUME_ROLE, (role,)), *refused]
    checks = [
        c
        for refusal in refused
        if _named_by(caller_policy, refusal.action) and (c := _uncovered(caller_policy, refusal, queries))
    ]
    checks += _excess(caller_policy, refused, queries)
    return found + [dataclasses.replace(check, document="caller_policy") for check in checks]


def _role_arn(finding: Finding) -> str | None:
    remedy = finding.remedy
    if remedy is None or not remedy.role_name or not finding.target_account_id:
        return None
    partition = (finding.principal.arn or "arn:aws:").split(":")[1] or "aws"
    return f"arn:{partition}:iam::{finding.target_account_id}:role/{remedy.role_name}"


def _trusted(finding: Finding, trust: dict[str, Any], role: str, queries: _Queries) -> Counterexample | None:
    """Some request of the caller (any ExternalId, MFA … the caller supplies) may assume the role."""
    partition = role.split(":")[1]
    caller = finding.principal.arn or (
        f"arn:{partition}:iam::{finding.principal.account_id}:root" if finding.principal.account_id else None
    )
    if caller is None:
        queries.problems.append("trust: the caller is not known")
        return None
    action, resource, ctx = _variables()
    trust_policy = [parse_policy_document("trust", trust)]
    # A trust policy may name the caller, its account's root or the account's ID: each stands for the caller.
    names = [caller, *_account_names(finding.principal.account_id, partition)]
    request = Request(ASSUME_ROLE, role, {"aws:PrincipalArn": caller})
    may_assume = z3.Or(*[allowed(ParsedPrincipal(name, []), action, resource, ctx, trust_policy) for name in names])
    answer, _ = queries.solve("trust", *_pinned(action, resource, ctx, request), may_assume)
    if answer is not False:
        return None
    return Counterexample("trust", request.action, role, dict(request.context), document="trust_policy")


def _account_names(account: str | None, partition: str) -> list[str]:
    return [f"arn:{partition}:iam::{account}:root", account] if account else []
