"""The command line: ``apprunner-audit report | explain | demo | verify`` (CONTRACT.md)."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import stat
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from analysis.config import ConfigError
from analysis.contract import Report
from analysis.identifiers import InvalidIdentifier, parse_accounts, split_list
from analysis.ledger_stores import FileLedger, LedgerError
from analysis.model import Options
from analysis.redact import printable
from analysis.settings import ENVIRONMENT, Settings, load_settings
from analysis.sources import SourceError
from analysis.windows import check_reportable_day, check_reportable_time

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_DELIVERY_FAILED = 1
EXIT_NOT_PROVEN = 1
VERIFY_EXTRA = "pip install 'apprunner-access-auditor[verify]'"
FORMATS = ("json", "md", "html", "csv")


class UsageError(Exception):
    """Bad arguments: one line on standard error, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own errors also exit 2, in one line
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="apprunner-audit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    report = commands.add_parser("report", help="read CloudTrail and report denials with fixes")
    report.add_argument("--source", action="append", default=[], metavar="SRC")
    report.add_argument("--since", type=_time, metavar="T")
    when = report.add_mutually_exclusive_group()
    when.add_argument("--until", type=_time, metavar="T")
    when.add_argument("--day", type=_day, metavar="YYYY-MM-DD")
    report.add_argument("--format", choices=FORMATS, default="json")
    report.add_argument("--out", type=Path, metavar="PATH")
    _add_organization_arguments(report)
    report.add_argument("--service", metavar="apprunner|PREFIX|all")
    report.add_argument(
        "--redact",
        action=argparse.BooleanOptionalAction,
        help="mask account IDs, ARNs, sessions and IPs (default: REDACT, else off)",
    )
    report.add_argument(
        "--ledger",
        type=Path,
        metavar="DIR",
        help="with --day: count each denial once across days; late arrivals get their own section",
    )
    report.add_argument("--tz", metavar="ZONE", help="with --ledger: the day's time zone (IANA, default UTC)")
    report.add_argument(
        "--lookback-hours",
        type=_non_negative,
        metavar="H",
        help="with --ledger: how far back late deliveries are looked for (default 48)",
    )
    report.add_argument(
        "--deliver",
        action="store_true",
        help="store in S3 and send by SES/SNS/EventBridge as REPORT_* variables say, once per window",
    )
    report.add_argument("--force", action="store_true", help="with --deliver: send again even if sent before")
    report.add_argument(
        "--accounts",
        type=_accounts,
        metavar="A,B",
        help="lookup: read these accounts, assuming --role-name in each",
    )
    report.add_argument(
        "--accounts-from-organizations",
        action=argparse.BooleanOptionalAction,
        help="lookup: read every active account of AWS Organizations, assuming --role-name in each",
    )
    report.add_argument("--role-name", metavar="NAME", help="lookup: the read-only IAM role to assume in each account")

    explain = commands.add_parser("explain", help="explain one CloudTrail record")
    explain.add_argument("file", metavar="FILE|-")
    explain.add_argument("--format", choices=("json", "text"), default="text")
    _add_organization_arguments(explain)

    demo = commands.add_parser("demo", help="the whole pipeline on the bundled sample day")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), metavar="DIR")

    verify = commands.add_parser("verify", help="prove each proposed policy allows exactly what was refused")
    verify.add_argument("report_file", metavar="REPORT.json")
    verify.add_argument("--format", choices=("text", "json"), default="text")

    ddl = commands.add_parser("athena-ddl", help="print the Athena CREATE TABLE for a CloudTrail bucket")
    ddl.add_argument("--bucket", required=True, metavar="BUCKET")
    ddl.add_argument("--prefix", default="", metavar="PREFIX", help="the trail's S3 key prefix, if any")
    ddl.add_argument("--org-id", metavar="o-ID", help="for an organization trail")
    ddl.add_argument("--table", default="cloudtrail_logs", metavar="[DATABASE.]NAME")
    ddl.add_argument("--regions", default="", metavar="r1,r2", help="default: every CloudTrail region")
    ddl.add_argument("--accounts", default="", metavar="A,B", help="default: accounts injected by each query")
    ddl.add_argument("--start", default="2020/01/01", metavar="YYYY/MM/DD", help="first day projected")
    return parser


def _add_organization_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trusted-accounts",
        type=_accounts,
        metavar="A,B",
        help="accounts whose callers need no sts:ExternalId",
    )
    parser.add_argument(
        "--org-accounts",
        type=_accounts,
        metavar="A,B",
        help="the organization's member accounts (never inferred from logs)",
    )
    parser.add_argument("--org-id", metavar="o-ID", help="the organization's id, for aws:PrincipalOrgID")
    parser.add_argument(
        "--recon-actions",
        type=_positive,
        metavar="N",
        help="distinct actions denied to one principal that make reconnaissance (default 10)",
    )
    parser.add_argument(
        "--recon-minutes", type=_positive, metavar="M", help="... within this many minutes (default 10)"
    )


def _accounts(value: str) -> frozenset[str]:
    try:
        return parse_accounts(value)
    except InvalidIdentifier as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _options(args: argparse.Namespace) -> Options:
    from analysis.service import advice_options

    return advice_options(_settings(args))


def _non_negative(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}")
    return int(value)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {value!r}")
    return int(value)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(message)s", stream=sys.stderr)
    try:
        args = build_parser().parse_args(argv)
        commands = {"report": _report, "explain": _explain, "demo": _demo, "verify": _verify, "athena-ddl": _athena_ddl}
        return commands[args.command](args)
    except (UsageError, SourceError) as error:
        _say(f"apprunner-audit: error: {error}")
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from analysis import service

    settings = _settings(args)
    sources = tuple(args.source)
    _check_out(args.out)
    delivery = _delivery() if args.deliver else None
    try:
        if args.ledger:
            run = service.run_daily(_daily_request(args, sources), settings, _ledger(args.ledger))
        else:
            request = service.WindowRequest(sources, args.since, args.until, args.day.date() if args.day else None)
            run = service.run_window(request, settings)
    except service.ServiceError as error:
        _warn(service.source_warnings(getattr(error, "statuses", [])))
        raise UsageError(str(error)) from error
    _warn(run.warnings())
    if delivery is not None:
        run = _deliver(run, *delivery, force=args.force)
    _write(_render(run.report, args.format), args.out)
    return EXIT_DELIVERY_FAILED if run.delivery_error is not None else EXIT_OK


def _settings(args: argparse.Namespace) -> Settings:
    """The report's settings: these arguments, then the environment (analysis.settings), then defaults."""
    try:
        given = {setting: getattr(args, argument, None) for setting, argument in _SETTING_ARGUMENTS.items()}
        return load_settings(**given)
    except ConfigError as error:
        raise UsageError(_as_flags(str(error), given)) from error


def _as_flags(message: str, given: dict[str, Any]) -> str:
    """A settings error names the option that was given (``--tz``), not its environment variable."""
    for setting, value in given.items():
        if value is not None:
            flag = "--" + _SETTING_ARGUMENTS[setting].replace("_", "-")
            message = message.replace(f"{setting} ({ENVIRONMENT[setting]})", flag)
    return message


_SETTING_ARGUMENTS = {  # setting -> argument
    "service": "service",
    "trusted_accounts": "trusted_accounts",
    "organization_accounts": "org_accounts",
    "organization_id": "org_id",
    "recon_distinct_actions": "recon_actions",
    "recon_window_minutes": "recon_minutes",
    "time_zone": "tz",
    "lookback_hours": "lookback_hours",
    "lookup_accounts": "accounts",
    "lookup_organization": "accounts_from_organizations",
    "lookup_role_name": "role_name",
    "redact": "redact",
}


def _daily_request(args: argparse.Namespace, sources: tuple[str, ...]) -> Any:
    from analysis.service import DailyRequest

    if args.day is None or args.since is not None or args.until is not None:
        raise UsageError("--ledger needs --day (and neither --since nor --until)")
    return DailyRequest(day=args.day.date(), sources=sources)


def _say(line: str) -> None:
    """One line on standard error: what a log, file name, S3 key or AWS error wrote in it is shown, never obeyed."""
    print(printable(line, keep=""), file=sys.stderr)


def _warn(warnings: list[str]) -> None:
    for warning in warnings:
        _say(f"apprunner-audit: warning: {warning}")


def _delivery() -> tuple[Any, Any]:
    """``--deliver``'s settings (the REPORT_* / IDEMPOTENCY_TABLE variables) and AWS clients, checked before
    the run: a bad setting or no AWS region is refused in one line."""
    from botocore.exceptions import BotoCoreError, NoRegionError

    from analysis.config import DeliveryConfig
    from analysis.delivery import default_clients

    try:
        config = DeliveryConfig.from_env()
        clients = default_clients()
    except ConfigError as error:
        raise UsageError(str(error)) from error
    except BotoCoreError as error:  # e.g. no region, an unknown AWS_PROFILE
        hint = " (set AWS_REGION or AWS_DEFAULT_REGION)" if isinstance(error, NoRegionError) else ""
        raise UsageError(f"--deliver: {error}{hint}") from error
    if not config.idempotency_table:
        _warn([NO_IDEMPOTENCY_TABLE])
    return config, clients


def _deliver(run: Any, config: Any, clients: Any, *, force: bool) -> Any:
    """Store and send the report; one line on standard error per channel (the run exits 1 when any failed or
    is held by another run)."""
    from analysis.service import deliver_run

    run = deliver_run(run, config, clients, force=force)
    for outcome in run.delivery.outcomes:
        _say(_delivery_line(outcome))
    return run


NO_IDEMPOTENCY_TABLE = (
    "no idempotency table (IDEMPOTENCY_TABLE): nothing stops another run, or a re-run, from sending this "
    "window's report again"
)


def _delivery_line(outcome: Any) -> str:
    """One line per channel: failed and held channels as errors, a send the table did not record as a warning."""
    if outcome.status == "failed":
        return f"apprunner-audit: error: delivery: {outcome.channel} failed: {outcome.detail}"
    if outcome.status == "in_progress":
        return f"apprunner-audit: error: delivery: {outcome.channel} in_progress: {outcome.detail}"
    if not outcome.recorded:
        return f"apprunner-audit: warning: delivery: {outcome.channel} sent, {outcome.detail}"
    return f"apprunner-audit: delivery: {outcome.channel} {outcome.status}"


def _render(report: Report, fmt: str) -> str:
    from analysis import render

    return render.render(report, fmt)


def _ledger(folder: Path) -> FileLedger:
    try:
        return FileLedger(folder)
    except LedgerError as error:
        raise UsageError(f"--ledger {error}") from error


def _check_out(out: Path | None) -> None:
    """Refuse an ``--out`` that cannot be a report file before any work: a folder, a symbolic link (the
    write would land wherever the link points, a place whoever made it chose), or under a file."""
    if out is None:
        return
    if out.is_symlink():
        raise UsageError(f"--out {out}: is a symbolic link; name the file itself")
    if out.is_dir():
        raise UsageError(f"--out {out}: is a folder; name a file in it")
    if out.exists() and not out.is_file():  # a FIFO would hold the run until someone reads it; a device
        raise UsageError(f"--out {out}: is not a regular file")
    parent = next((folder for folder in out.parents if folder.exists()), None)
    if parent is not None and not parent.is_dir():
        raise UsageError(f"--out {out}: {parent} is not a folder")
    if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: cannot write in {parent}")


def _write(text: str, out: Path | None) -> None:
    if out is None:  # a terminal, perhaps: JSON's C1 and bidi characters as escapes too (the same value)
        sys.stdout.write(printable(text, keep="\n\r\t"))
        return
    try:  # O_NOFOLLOW: a link placed since _check_out is refused by the system, not followed; O_NONBLOCK: so is a FIFO
        out.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | NO_FOLLOW | NON_BLOCK, 0o644)
    except OSError as error:
        reason = "is a symbolic link" if error.errno == errno.ELOOP else error.strerror
        raise UsageError(f"--out {out}: {reason}") from error
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise UsageError(f"--out {out}: is not a regular file")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)


NON_BLOCK = getattr(os, "O_NONBLOCK", 0)
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX; Windows has no such flag (and _check_out still applies)


def _explain(args: argparse.Namespace) -> int:
    from analysis.explain import ExplainError, explain_bytes

    try:
        data = _read_input(args.file)
        finding = explain_bytes(data, origin="<stdin>" if args.file == "-" else args.file, options=_options(args))
    except ExplainError as error:
        raise UsageError(str(error)) from error
    if args.format == "json":
        sys.stdout.write(printable(json.dumps(finding.model_dump(mode="json"), indent=2, ensure_ascii=False)) + "\n")
    else:
        from analysis.render.text import finding_text

        sys.stdout.write(finding_text(finding))
    return EXIT_OK


def _read_input(name: str) -> bytes:
    """``explain``'s input, a file or ``-``, read up to the cap on one file's content (a FIFO is refused:
    nothing would end it)."""
    from analysis.records import ContentTooLarge, max_content_bytes, read_capped

    path = Path(name)
    if name != "-" and not path.exists():
        raise UsageError(f"{name}: no such file")
    if name != "-" and not path.is_file():
        raise UsageError(f"{name}: not a regular file")
    try:
        if name == "-":
            return read_capped(sys.stdin.buffer, max_content_bytes())
        with path.open("rb") as stream:
            return read_capped(stream, max_content_bytes())
    except ContentTooLarge as error:
        raise UsageError(f"{name}: {error}") from error


def _demo(args: argparse.Namespace) -> int:
    from analysis.demo import run_demo

    run_demo(args.out)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    """The proof of every proposed policy (analysis.proof): exit 0 when each is proven, 1 when any is not."""
    try:
        from analysis import proof
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in ("iamprover", "z3"):
            raise
        raise UsageError(f"verify needs the IAM evaluator: {VERIFY_EXTRA}") from error
    try:
        report = Report.model_validate_json(_read_input(args.report_file))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UsageError(f"{args.report_file}: not a report: {where + ': ' if where else ''}{first['msg']}") from error
    proofs = proof.prove_report(report)
    if args.format == "json":
        sys.stdout.write(json.dumps([p.as_json() for p in proofs], indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.writelines(proof.proof_line(p) + "\n" for p in proofs)
    return EXIT_NOT_PROVEN if any(p.status == "not_proven" for p in proofs) else EXIT_OK


def _athena_ddl(args: argparse.Namespace) -> int:
    from analysis.sql.ddl import create_table_ddl

    try:
        ddl = create_table_ddl(
            args.bucket,
            prefix=args.prefix,
            org_id=args.org_id,
            table=args.table,
            accounts=split_list(args.accounts),
            regions=split_list(args.regions),
            projection_start=args.start,
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    sys.stdout.write(ddl)
    return EXIT_OK


def _time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from error
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        check_reportable_time(parsed)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r}: {error}") from error
    return parsed


def _day(value: str) -> datetime:
    try:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {value!r}") from error
    try:
        check_reportable_day(day.date(), datetime.now(UTC))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{value!r}: {error}") from error
    return day


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
