# PYTHON_ARGCOMPLETE_OK
"""The command line: ``apprunner-audit report | alerts | explain | demo | verify | athena-ddl`` (docs/CONTRACT.md).

Nothing heavy is imported before the arguments are parsed, so ``--help``, ``--version`` and shell completion
answer at once: each command imports what it uses. A mistake is one line on standard error and exit 2, found
before any work where it can be (a source spec, a region, credentials, a delivery with nowhere to go, an
``--out`` that cannot be written); Ctrl-C is one line and exit 130.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import json
import logging
import os
import shutil
import stat
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from analysis.contract import Report
    from analysis.ledger_stores import FileLedger
    from analysis.model import Options
    from analysis.settings import Settings
    from analysis.sources import SpecNeeds

log = logging.getLogger(__name__)
PROG = "apprunner-audit"
EXIT_OK = 0
EXIT_DELIVERY_FAILED = 1
EXIT_NOT_PROVEN = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3  # --fail-on: a finding at or above the severity named (as Prowler's exit 3)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C stopped
VERIFY_EXTRA = "pip install 'apprunner-access-auditor[verify]'"
FORMATS = ("json", "md", "html", "csv")
EXTENSION_FORMATS = {".json": "json", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".csv": "csv"}
SEVERITIES = ("low", "medium", "high", "critical")  # docs/CONTRACT.md's severities, lowest first
SUMMARY_WIDTH = 120  # columns of the terminal summary at most, however wide the terminal
REPORTS_FOLDER = Path("apprunner-audit-reports")  # terminal mode: every format under ./apprunner-audit-reports/LABEL/
SOURCE_FORMS = ("sample", "s3://", "lookup:", "athena:", "lake:")  # completion's offers beside file names
AWS_SOURCE_PREFIXES = ("lookup:", "s3://", "athena:", "lake:")  # identifiers.AWS_PREFIXES, not imported so early
SERVICE_VARIABLE = "AUDITED_SERVICE"  # settings.ENVIRONMENT["service"], not imported so early
NO_SOURCE = (
    "no --source given: reporting the bundled sample day (--source sample); name your CloudTrail data with --source"
)

EXIT_STATUS = """\
exit status:
  0    done, whether denials were found or not
  1    --deliver: a channel failed or another run holds it (verify: a policy not proven)
  2    bad arguments, a path that does not exist, an unknown --source form or region, no AWS
       credentials or region, --deliver with no destination, or every source failed
  3    --fail-on: a finding at or above that severity (the report is still written and delivered)
  130  interrupted (Ctrl-C)"""

PROGRAM_EPILOG = f"""\
examples:
  {PROG} demo                                         the bundled sample day, every format in out/demo/
  {PROG} report --source ./cloudtrail/ --day 2026-11-28 --out report.html
  {PROG} report --source lookup:us-east-1 --fail-on high --out report.json
  {PROG} alerts --source ./cloudtrail/ --day 2026-11-28   the alerts that day would have raised, and why
  {PROG} explain event.json                           why one CloudTrail record was denied
  {PROG} verify report.json                           prove each proposed policy
  {PROG} athena-ddl --bucket my-trail-bucket          the Athena table for athena: sources
  {PROG} report --help                                every --source form, --deliver, --fail-on

shell completion (bash, zsh):  eval "$(register-python-argcomplete {PROG})"

{EXIT_STATUS}"""

REPORT_EPILOG = f"""\
--source forms (repeatable; without one: TRAIL_SOURCE, else the bundled sample day, said on standard error):
  --source ./cloudtrail/                     a folder of trail files (.json, .json.gz, .jsonl), recursively
  --source events.json                       one file: trail file, JSON array, JSON Lines, lookup-events output
  --source sample                            the bundled sample day (2026-11-28)
  --source s3://my-trail-bucket/logs/        trail files in S3 (needs --day or --since; ?regions=…&accounts=…)
  --source lookup:us-east-1,eu-west-1        CloudTrail LookupEvents (the last 90 days of management events)
  --source athena:default.cloudtrail_logs    an Athena table over the trail bucket (make it with athena-ddl)
  --source lake:EVENT_DATA_STORE_ID          a CloudTrail Lake event data store (its ID or ARN)

examples:
  {PROG} report --source ./cloudtrail/ --day 2026-11-28
  {PROG} report --source lookup:us-east-1 --since 2026-11-28T06:00:00Z --until 2026-11-28T18:00:00Z
  {PROG} report --source ./cloudtrail/ --out report.html       the format follows the extension
  {PROG} report --source ./cloudtrail/ --format md > report.md
  {PROG} report --source ./cloudtrail/ --format csv --out denials.csv   also denials.details.csv
  REPORT_EMAIL_FROM=reports@example.com REPORT_EMAIL_TO=team@example.com \\
    {PROG} report --source lookup:us-east-1 --day 2026-11-28 --deliver     add --force to send a sent day again
  {PROG} report --source s3://my-trail-bucket --day 2026-11-28 --fail-on high -q --out report.json
  {PROG} report --source ./cloudtrail/ --out - --format md | less      --out -: standard output
  {PROG} report --source ./cloudtrail/ --out report.json.gz            gzip-compressed JSON
  {PROG} report --source ./cloudtrail/ --service all --redact          every service; account IDs, ARNs masked
  {PROG} report --source ./cloudtrail/ --trusted-accounts 123456789012 --org-id o-a1b2c3d4e5 \\
    --org-accounts 111122223333,444455556666 --recon-actions 10 --recon-minutes 10
  {PROG} report --source ./cloudtrail/ --day 2026-11-28 --ledger ./ledger/ --tz Europe/Paris --lookback-hours 48
  {PROG} report --source lookup:us-east-1 --accounts 111122223333,444455556666 --role-name AuditReadOnly
  {PROG} report --source lookup:us-east-1 --accounts-from-organizations --role-name AuditReadOnly

On a terminal, without --format or --out, every format is written to ./{REPORTS_FOLDER}/LABEL/ (LABEL: the
--day, the window, or 'all') and a summary is printed; piped, the JSON goes to standard output.

{EXIT_STATUS}"""


ALERTS_EPILOG = f"""\
Replays the window's denials of the audited service in time order through the alert rules, in memory, as the
alert function would have taken them on an empty state table: each alerts (the rules that fired, with their
reasons), is counted (its key alerted within the period), folded (into its principal's burst or reconnaissance
alert), fires no rule, is suppressed (--suppressions, at the event's time) or repeats an eventID already counted.
Expired suppressions and refused entries are warned about on standard error. Without --trusted-accounts or
--org-accounts, every caller from another account counts as unknown (a note says so). The sample day's figures in
the README and docs/alerts-replay.md are with its organization (the last example). --source forms: as for report
(report --help).

examples:
  {PROG} alerts                                         the bundled sample day (said on standard error)
  {PROG} alerts --source ./cloudtrail/ --day 2026-11-28
  {PROG} alerts --source ./cloudtrail/ --suppressions suppressions.json --format json --out alerts.json
  {PROG} alerts --source s3://my-trail-bucket --since 2026-11-28T06:00:00Z --until 2026-11-28T18:00:00Z
  {PROG} alerts --source sample --trusted-accounts 123456789012 --org-id o-a1b2c3d4e5 \\
    --org-accounts 111122223333,444455556666,777788889999,210987654321

suppressions file (JSON; each entry: principal, action, account and/or owner_account, with reason and expires):
  {{"suppressions": [{{"principal": "arn:aws:iam::111122223333:role/Scanner", "action": "apprunner:Describe*",
                      "reason": "pen test SEC-42", "expires": "2026-12-31"}}]}}

exit status:
  0    done, whether alerts would have been raised or not
  2    bad arguments, a path that does not exist, an unknown --source form, no AWS credentials or region for
       an AWS source, a --suppressions document that cannot be read, is not JSON or is not a suppression
       document (an entry it refuses is a warning; the others apply)
  130  interrupted (Ctrl-C)"""


class UsageError(Exception):
    """Bad arguments, or a setup that cannot work: one line on standard error, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse's own errors also exit 2, in one line
        raise UsageError(message)


class _Version(argparse.Action):
    """``--version``: the installed distribution's version, looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> NoReturn:
        sys.stdout.write(f"{PROG} {version()}\n")
        parser.exit()


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("apprunner-access-auditor")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


@dataclass
class _Voice:
    """How much the run says on standard error: ``-q`` no notes, progress or summary (warnings and errors
    still), ``-v`` INFO logs, ``-vv`` DEBUG."""

    quiet: bool = False


_voice = _Voice()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Read App Runner AccessDenied events from CloudTrail and report what to fix.",
        epilog=PROGRAM_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    _add_voice_arguments(parser, suffix="_before")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, title="commands")
    _add_report_command(commands)
    _add_alerts_command(commands)
    _add_other_commands(commands)
    return parser


def _command(commands: Any, name: str, summary: str, epilog: str | None = None) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name, help=summary, description=summary, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _add_voice_arguments(parser)
    return parser


def _add_voice_arguments(parser: argparse.ArgumentParser, suffix: str = "") -> None:
    voice = parser.add_mutually_exclusive_group()
    voice.add_argument(
        "-v", "--verbose", action="count", default=0, dest="verbose" + suffix, help="log more: -v INFO, -vv DEBUG"
    )
    voice.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        dest="quiet" + suffix,
        help="no notes, progress or summary (warnings, errors still)",
    )


def _add_source_and_window(parser: argparse.ArgumentParser, more: str) -> None:
    """--source (repeatable) and the window: --since, then --until or --day (report and alerts read alike)."""
    source = parser.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="SRC",
        help=f"where to read CloudTrail: a path, sample, s3://, lookup:, athena: or lake: {more}",
    )
    _complete_with(source, _complete_source)
    parser.add_argument("--since", type=_time, metavar="T", help="window start, ISO 8601 (e.g. 2026-11-28T06:00:00Z)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--until", type=_time, metavar="T", help="window end (exclusive), ISO 8601")
    when.add_argument("--day", type=_day, metavar="YYYY-MM-DD", help="one UTC day: [D 00:00Z, D+1 00:00Z)")


def _add_report_command(commands: Any) -> None:
    report = _command(commands, "report", "read CloudTrail and report denials with fixes", REPORT_EPILOG)
    _add_source_and_window(report, "(forms below; repeatable)")
    report.add_argument(
        "--format",
        choices=FORMATS,
        help="json, md, html or csv (default: --out's extension, else json)",
    )
    report.add_argument(
        "--out",
        metavar="FILE",
        help="write the report to FILE (.json, .md, .html or .csv sets the format; F.json.gz: gzip; -: standard "
        "output) instead of standard output",
    )
    report.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        metavar="SEVERITY",
        help="exit 3 when a finding is at or above SEVERITY (low, medium, high, critical), after writing the report",
    )
    _add_organization_arguments(report)
    report.add_argument(
        "--service",
        metavar="apprunner|PREFIX|all",
        help="the service whose denials are reported (default apprunner; all: every service)",
    )
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


def _add_alerts_command(commands: Any) -> None:
    alerts = _command(
        commands, "alerts", "which alerts a window of CloudTrail would have raised, and why", ALERTS_EPILOG
    )
    _add_source_and_window(alerts, "(repeatable)")
    alerts.add_argument(
        "--suppressions",
        metavar="FILE",
        help="a suppression document (JSON; s3://bucket/key and ssm:/name too): what it matches is not alerted",
    )
    alerts.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    alerts.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    _add_organization_arguments(alerts)
    alerts.add_argument(
        "--service",
        metavar="apprunner|PREFIX|all",
        help="the service whose denials are replayed (default apprunner)",
    )


def _add_other_commands(commands: Any) -> None:
    explain = _command(
        commands,
        "explain",
        "explain one CloudTrail record",
        f"examples:\n  {PROG} explain event.json\n"
        "  aws cloudtrail lookup-events --max-results 1 --query 'Events[0].CloudTrailEvent' --output text \\\n"
        f"    | {PROG} explain - --format json",
    )
    explain.add_argument(
        "file", metavar="FILE|-", help="one record (bare, in Records, or an EventBridge event); - reads stdin"
    )
    explain.add_argument("--format", choices=("json", "text"), default="text", help="text (default) or json")
    _add_organization_arguments(explain)

    demo = _command(
        commands, "demo", "the whole pipeline on the bundled sample day", f"example:\n  {PROG} demo --out out/demo"
    )
    demo.add_argument(
        "--out", type=Path, default=Path("out/demo"), metavar="DIR", help="where the reports go (out/demo)"
    )

    verify = _command(
        commands,
        "verify",
        "prove each proposed policy allows exactly what was refused",
        f"example:\n  {PROG} report --source sample --out report.json && {PROG} verify report.json\n\n"
        f"needs the IAM evaluator: {VERIFY_EXTRA}",
    )
    verify.add_argument("report_file", metavar="REPORT.json", help="a report written by report --format json")
    verify.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")

    ddl = _command(
        commands,
        "athena-ddl",
        "print the Athena CREATE TABLE for a CloudTrail bucket",
        f"example:\n  {PROG} athena-ddl --bucket my-trail-bucket --org-id o-abc123def4 --table audit.cloudtrail_logs",
    )
    ddl.add_argument("--bucket", required=True, metavar="BUCKET", help="the trail's S3 bucket")
    ddl.add_argument("--prefix", default="", metavar="PREFIX", help="the trail's S3 key prefix, if any")
    ddl.add_argument("--org-id", metavar="o-ID", help="for an organization trail")
    ddl.add_argument("--table", default="cloudtrail_logs", metavar="[DATABASE.]NAME", help="the table to create")
    ddl.add_argument("--regions", default="", metavar="r1,r2", help="default: every CloudTrail region")
    ddl.add_argument("--accounts", default="", metavar="A,B", help="default: accounts injected by each query")
    ddl.add_argument("--start", default="2020/01/01", metavar="YYYY/MM/DD", help="first day projected")


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


def _complete_with(action: argparse.Action, completer: Any) -> None:
    action.completer = completer  # type: ignore[attr-defined]  # argcomplete reads this attribute


def _complete_source(prefix: str, **kwargs: Any) -> list[str]:
    """``--source``'s completions: the forms, then file and folder names (argcomplete's own completer)."""
    from argcomplete.completers import FilesCompleter

    forms = [form for form in SOURCE_FORMS if form.startswith(prefix)]
    return forms + list(FilesCompleter()(prefix, **kwargs))


def _accounts(value: str) -> frozenset[str]:
    from analysis.identifiers import InvalidIdentifier, parse_accounts

    try:
        return parse_accounts(value)
    except InvalidIdentifier as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _options(args: argparse.Namespace) -> Options:
    from analysis.settings import advice_options

    return advice_options(_settings(args))


def _non_negative(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}")
    return int(value)


def _positive(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"not a positive whole number: {value!r}")
    return int(value)


# --- the run -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """The program (``argv`` None: ``sys.argv``); the exit status. Ctrl-C is one line and exit 130."""
    try:
        return _command_line(argv)
    except KeyboardInterrupt:
        pass
    # Out of the handler, the interrupted run's frames are released: its readers close and stop their workers.
    print(f"{PROG}: interrupted", file=sys.stderr)
    if argv is None:  # the program itself, not a caller in Python: stop now, whatever exit handlers would wait for
        gc.collect()  # a reader caught in a reference cycle is closed too
        _exit_now(EXIT_INTERRUPTED)
    return EXIT_INTERRUPTED


def _command_line(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser()
        if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions: answer and exit (normal runs skip this)
            import argcomplete

            argcomplete.autocomplete(parser)
        args = parser.parse_args(argv)
        _set_voice(args)
        commands = {
            "report": _report,
            "alerts": _alerts,
            "explain": _explain,
            "demo": _demo,
            "verify": _verify,
            "athena-ddl": _athena_ddl,
        }
        try:
            return commands[args.command](args)
        finally:
            _stop_log_lines()  # a caller in Python (a test, a notebook) keeps its own logging
    except _AlreadySaid:
        return EXIT_USAGE
    except UsageError as error:
        _say(f"{PROG}: error: {error}")
        return EXIT_USAGE
    except BrokenPipeError:  # the reader went away (| head): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _exit_now(code: int) -> NoReturn:
    """End the process without running exit handlers. After Ctrl-C, ``concurrent.futures``' handler joins a process
    pool's manager thread, which waits forever when a worker was ended in the middle of sending its result (the
    pipe holds half a message); nothing of ours is left to flush but standard output and error."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing more can be said on it
            stream.flush()
    os._exit(code)


def _set_voice(args: argparse.Namespace) -> None:
    """``-q``/``-v`` before or after the command: whether notes are shown, and the logs: warnings by default (and
    with ``-q``), ``-v`` this program's INFO too, ``-vv`` every library's DEBUG."""
    _voice.quiet = bool(args.quiet_before or args.quiet)
    verbose = 0 if _voice.quiet else args.verbose_before + args.verbose
    root = logging.getLogger()
    _stop_log_lines()
    root.addHandler(_LogLines())
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.WARNING)
    logging.getLogger("analysis").setLevel(
        logging.NOTSET if verbose >= 2 else (logging.INFO if verbose else logging.WARNING)
    )


def _stop_log_lines() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _LogLines)]:
        root.removeHandler(handler)


# Their warnings are the run's own (a source's problems, a channel that failed), which the CLI says in its words.
SAID_BY_THE_CLI = ("analysis.pipeline", "analysis.delivery", "analysis.service")


class _LogLines(logging.Handler):
    """Log records as the CLI's own lines on standard error (``apprunner-audit: warning: …``), printable; the
    warnings the CLI says itself are not said twice."""

    def __init__(self) -> None:
        super().__init__()
        self.said: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        said = record.levelno == logging.WARNING and record.name.startswith(SAID_BY_THE_CLI)
        if said and logging.getLogger("analysis").getEffectiveLevel() > logging.DEBUG:
            return
        from analysis.redact import printable

        where = f"{record.name}: " if record.levelno < logging.INFO else ""
        try:
            line = f"{PROG}: {record.levelname.lower()}: {where}{record.getMessage()}"
        except Exception:  # a message that cannot be formatted: logging's own report, never a failed run
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING and line in self.said:
            return  # a setting read once per file (the decompressed cap) is warned about once
        self.said.add(line)
        sys.stderr.write(printable(line, keep="") + "\n")


def _report(args: argparse.Namespace) -> int:
    read_early = _read_early(args)
    try:
        return _checked_report(args)
    finally:
        if read_early:
            from analysis.sources.files import stop_early_reads

            stop_early_reads()


def _read_early(args: argparse.Namespace) -> bool:
    """The first --source, when it is a folder of many files, starts loading in worker processes before the
    settings, checks and imports (some 0.3 s), which then run while the workers read: ``sources.files``'
    ``start_reading``, for the source the run makes of it, with the audited service the settings will give.
    Only a head start: whatever fails here (no process can start) is left for the run to meet and say."""
    spec = (args.source or [None])[0]
    if spec is None or spec == "sample" or spec.startswith(AWS_SOURCE_PREFIXES) or not os.path.isdir(spec):
        return False
    try:
        from analysis.sources.files import start_reading

        service = args.service if args.service is not None else os.environ.get(SERVICE_VARIABLE, "")
        start_reading(Path(spec), (service.strip() or "apprunner").lower())
    except Exception:  # e.g. fork refused (EAGAIN, ENOMEM): the source's own read meets it, and says it
        log.debug("no early read of %s", spec, exc_info=True)
        return False
    return True


def _checked_report(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if settings.redact and settings.redact_key is None:
        from analysis.redact import RANDOM_KEY_WARNING

        _warn([RANDOM_KEY_WARNING])
    output = _output(args)
    needs = _checked_sources(args, settings)
    delivery = _delivery_config() if args.deliver else None
    _check_aws(needs, deliver=delivery is not None, organization=bool(settings.lookup_organization))
    clients = _delivery_clients() if delivery is not None else None
    if delivery is not None and not delivery.idempotency_table:
        _warn([NO_IDEMPOTENCY_TABLE])
    run = _run(args, settings)
    _warn(run.warnings())
    if delivery is not None:
        run = _deliver(run, delivery, clients, force=args.force)
    _write_report(run.report, output, args)
    if run.delivery_error is not None:
        return EXIT_DELIVERY_FAILED
    return _fail_on(run.report, args.fail_on) if args.fail_on else EXIT_OK


def _run(args: argparse.Namespace, settings: Settings) -> Any:
    """The window's (or with ``--ledger`` the day's) run, its progress shown on a terminal and cleared before
    anything else is said; a source or request error is one line, and a run whose every source failed names
    each failed source once."""
    from analysis import service
    from analysis.progress import terminal_progress
    from analysis.sources import SourceError

    sources = tuple(args.source)
    progress = _FilesCounted(terminal_progress(sys.stderr, quiet=_voice.quiet))
    started = time.monotonic()
    try:
        try:
            if args.ledger:
                request = _daily_request(args, sources)
                run = service.run_daily(request, settings, _ledger(args.ledger), progress=progress)
            else:
                window = service.WindowRequest(sources, args.since, args.until, args.day.date() if args.day else None)
                run = service.run_window(window, settings, progress=progress)
        finally:
            progress.close()
    except service.AllSourcesFailed as error:
        _warn([problem for status in error.statuses for problem in status.problems])
        for status in error.statuses:
            _say(f"{PROG}: error: {status.name}: {status.error}")
        raise _AlreadySaid from error
    except (service.ServiceError, SourceError) as error:
        raise UsageError(str(error)) from error
    _log_run(run.report, progress.files_read, time.monotonic() - started)
    return run


def _log_run(report: Report, files: int, seconds: float) -> None:
    """``-v``: what was read, for which window, and how long it took."""
    window = report.window
    log.info("window %s..%s", window.start or "…", window.end or "…")
    for source in report.sources:
        log.info(
            "source %s: %s, %d record(s) read, %d malformed",
            source.name,
            source.status,
            source.records_read,
            source.malformed_records,
        )
    log.info("%d record(s) and %d file(s) read in %.1f s", report.totals.records_read, files, seconds)


class _FilesCounted:
    """The run's progress reporter, counting the files (and S3 objects) read for ``-v``'s log."""

    def __init__(self, reporter: Any) -> None:
        self.reporter = reporter
        self.files_read = 0

    def files(self, done: int, total: int, bytes_done: int, bytes_total: int) -> None:
        self.files_read += 1  # told once per file read, each source counting its own
        self.reporter.files(done, total, bytes_done, bytes_total)

    def pages(self, source: str, region: str, pages: int, events: int) -> None:
        self.reporter.pages(source, region, pages, events)

    def query(self, source: str, state: str) -> None:
        self.reporter.query(source, state)

    def close(self) -> None:
        self.reporter.close()


class _AlreadySaid(UsageError):
    """A usage error whose lines are already on standard error."""


def _settings(args: argparse.Namespace) -> Settings:
    """The report's settings: these arguments, then the environment (analysis.settings), then defaults."""
    from analysis.config import ConfigError
    from analysis.settings import load_settings

    given = {setting: getattr(args, argument, None) for setting, argument in _SETTING_ARGUMENTS.items()}
    try:
        settings = load_settings(**given)
    except ConfigError as error:
        raise UsageError(_as_flags(str(error), given)) from error
    _check_service(settings.service, given=given["service"] is not None)
    return settings


def _check_service(service: str, *, given: bool) -> None:
    """A mistyped ``--service`` (or AUDITED_SERVICE) matches no record: refused, with the nearest prefix."""
    from analysis import catalog

    if service in catalog.service_prefixes():  # the common case, told without loading the IAM catalog
        return
    from analysis.service_prefixes import unknown_service
    from analysis.settings import ENVIRONMENT

    why = unknown_service(service)
    if why is not None:
        raise UsageError(f"{'--service' if given else ENVIRONMENT['service']}: {why}")


def _as_flags(message: str, given: dict[str, Any]) -> str:
    """A settings error names the option that was given (``--tz``), not its environment variable."""
    from analysis.settings import ENVIRONMENT

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


# --- checks before any work ----------------------------------------------------------------------


def _checked_sources(args: argparse.Namespace, settings: Settings) -> dict[str, SpecNeeds]:
    """Each source the run will read, checked without any AWS call; what each needs. Says which data is
    reported when no ``--source`` was given."""
    from analysis.service import source_specs
    from analysis.sources import SourceError, check_spec

    specs = source_specs(tuple(args.source), settings)
    log.info("reading %s", ", ".join(specs))
    if not args.source and specs == ["sample"]:
        _warn([NO_SOURCE])  # a warning, said with -q too: in CI, a forgotten --source must not pass unseen
    elif not args.source:
        _note(f"no --source given: reporting TRAIL_SOURCE ({specs[0]})")  # the operator's own setting
    try:
        return {spec: check_spec(spec) for spec in specs}
    except SourceError as error:
        raise UsageError(str(error)) from error


def _check_aws(needs: dict[str, SpecNeeds], *, deliver: bool, organization: bool) -> None:
    """Credentials (and a default region where a spec names none, for AWS Organizations, and for delivery)
    before the first AWS call: one line naming who needs them and what to set."""
    aws = [spec for spec, need in needs.items() if need.credentials]
    needed_by = [f"--source {spec}" for spec in aws] + (["--deliver"] if deliver else [])
    if not needed_by:
        return
    from analysis.aws_clients import SetupError, check_setup  # botocore: only when AWS is needed

    region = deliver or any(need.region for need in needs.values()) or (organization and bool(aws))
    try:
        check_setup(region=region)
    except SetupError as error:
        raise UsageError(f"{' and '.join(needed_by)}: {error}{_profile_hint(error)}") from error


def _profile_hint(error: Exception) -> str:
    """An AWS_PROFILE no config file names: how to see the names there are."""
    from botocore.exceptions import ProfileNotFound

    if not isinstance(error.__cause__, ProfileNotFound):
        return ""
    return ": see the profiles there are with `aws configure list-profiles`, or unset AWS_PROFILE"


def _delivery_config() -> Any:
    """``--deliver``'s settings (the REPORT_* / IDEMPOTENCY_TABLE variables), checked before the run: a bad
    setting, or no destination at all, is refused in one line naming the variables."""
    from analysis.config import DELIVERY_ENV, ConfigError, DeliveryConfig

    try:
        config = DeliveryConfig.from_env()
    except ConfigError as error:
        raise UsageError(str(error)) from error
    if not config.has_destination:
        raise UsageError(
            f"--deliver: no destination configured: set {DELIVERY_ENV['bucket']} (S3), {DELIVERY_ENV['sender']} "
            f"and {DELIVERY_ENV['recipients']} (email), {DELIVERY_ENV['topic_arn']} (SNS) "
            f"or {DELIVERY_ENV['event_bus']} (EventBridge)"
        )
    return config


def _delivery_clients() -> Any:
    from botocore.exceptions import BotoCoreError

    from analysis.delivery import default_clients

    try:
        return default_clients()
    except BotoCoreError as error:  # credentials and region were checked; e.g. a bad AWS_ENDPOINT_URL
        raise UsageError(f"--deliver: {error}") from error


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


# --- where the report goes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    """Where the report goes: ``format`` to ``out`` (None: standard output), or in ``terminal`` mode every
    format into ./apprunner-audit-reports/LABEL/ and a summary on standard output."""

    format: str
    out: Path | None
    terminal: bool = False


def _output(args: argparse.Namespace) -> Output:
    """The format (``--format``, else ``--out``'s extension, else JSON) and the file, checked before any work."""
    text: str | None = args.out
    if text is not None and text.endswith(("/", os.sep)):  # Path() would drop the slash and write a file
        raise UsageError(f"--out {text}: names a folder; name a file in it (e.g. {text}report.html)")
    out = Path(text) if text not in (None, STANDARD_OUTPUT) else None
    fmt = format_for(args.format, out)
    terminal = args.format is None and text is None and sys.stdout.isatty()
    _check_out(REPORTS_FOLDER / "report.json" if terminal else out)
    if fmt == "csv" and out is not None:
        _check_out(details_path(out))
    return Output(fmt, out, terminal)


def format_for(requested: str | None, out: Path | None) -> str:
    """``--format``, else the one ``--out``'s extension names, else JSON; a ``--format`` that the extension
    contradicts is refused (JSON written into ``x.html`` would open as garbage)."""
    inner = _without_gzip(out) if out is not None else None
    implied = EXTENSION_FORMATS.get(inner.suffix.lower()) if inner is not None else None
    if requested and implied and requested != implied and out is not None and inner is not None:
        renamed = inner.with_suffix("." + requested).name + (GZIP if out.name.lower().endswith(GZIP) else "")
        raise UsageError(
            f"--format {requested} contradicts --out {out}, whose extension means {implied}: drop --format, or "
            f"name the file {out.with_name(renamed)}"
        )
    return requested or implied or "json"


STANDARD_OUTPUT = "-"  # --out -: standard output, as most tools read it
GZIP = ".gz"  # --out F.json.gz: the format of F.json, gzip-compressed


def _without_gzip(path: Path) -> Path:
    """``r.json.gz`` -> ``r.json`` (whose extension names the format)."""
    return path.with_suffix("") if path.suffix.lower() == GZIP else path


def _write_report(report: Report, output: Output, args: argparse.Namespace) -> None:
    """Write the report where ``output`` says; in terminal mode, then the summary."""
    if output.terminal:
        written = _write_folder(report, REPORTS_FOLDER / report_label(report, args.day.date() if args.day else None))
        if not _voice.quiet:
            sys.stdout.write(_summary(report, written))
        return
    _write(_render(report, output.format), output.out)
    if output.format == "csv" and output.out is not None:
        details = details_path(output.out)
        _write(_render_details(report), details)
        _note(f"one row per value (sessions, event IDs, resources, reasons): {details}")


def _write_folder(report: Report, folder: Path) -> list[Path]:
    """Every format into ``folder``: report.json, .html, .md, .csv and report.details.csv; the paths."""
    written = []
    for fmt in ("html", "md", "json", "csv"):  # the page to open first
        path = folder / f"report.{fmt}"
        _write(_render(report, fmt), path)
        written.append(path)
    details = details_path(folder / "report.csv")
    _write(_render_details(report), details)
    return [*written, details]


def details_path(csv_file: Path) -> Path:
    """The details CSV beside ``F.csv``: ``F.details.csv`` (``F.csv.gz``: ``F.details.csv.gz``)."""
    compressed = csv_file.suffix.lower() == GZIP
    details = _without_gzip(csv_file).with_suffix(".details.csv")
    return details.with_name(details.name + GZIP) if compressed else details


def _render_details(report: Report) -> str:
    from analysis.render.csv import render_csv_details

    return render_csv_details(report)


def _summary(report: Report, written: list[Path]) -> str:
    """The terminal summary: coloured unless NO_COLOR is set (https://no-color.org), as wide as the terminal
    up to ``SUMMARY_WIDTH``."""
    from analysis.render.terminal import summary

    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    width = min(shutil.get_terminal_size((SUMMARY_WIDTH, 24)).columns, SUMMARY_WIDTH)
    return summary(report, written, color=color, width=width)


def report_label(report: Report, day: date | None = None) -> str:
    """The folder of a terminal run's reports: the day, else the window in compact UTC
    (``20261128T060000Z_20261128T180000Z``; an open end is the time the report was made), else ``all-`` and that
    time, so that a run without a window never overwrites an earlier one."""
    if day is not None:
        return day.isoformat()
    start, end = report.window.start, report.window.end
    made = _compact(report.generated_at)
    if start is None and end is None:
        return f"all-{made}"
    return f"{_compact(start) or 'start'}_{_compact(end) or made}"


def _compact(moment: str | None) -> str:
    """'2026-11-28T06:00:00Z' -> '20261128T060000Z' (the report's times are UTC, ``Z``)."""
    return (moment or "").replace("-", "").replace(":", "")


def _fail_on(report: Report, threshold: str) -> int:
    """``--fail-on``: exit 3 when a finding's severity is at or above ``threshold``, saying so in one line."""
    rank = SEVERITIES.index(threshold)
    late = [finding for section in report.late_arrivals or [] for finding in section.findings]  # --ledger's
    failing = [f for f in [*report.findings, *late] if f.severity is not None and SEVERITIES.index(f.severity) >= rank]
    if not failing:
        return EXIT_OK
    late_failing = sum(1 for finding in failing if any(finding is other for other in late))
    of_which = f", {late_failing} of them among late arrivals" if late_failing else ""
    _note(f"{len(failing)} finding(s) at or above {threshold}{of_which} (--fail-on {threshold}): exit {EXIT_FINDINGS}")
    return EXIT_FINDINGS


def _say(line: str) -> None:
    """One line on standard error: what a log, file name, S3 key or AWS error wrote in it is shown, never obeyed."""
    from analysis.redact import printable

    print(printable(line, keep=""), file=sys.stderr)


def _warn(warnings: list[str]) -> None:
    """What may make the report wrong or empty: said even with ``-q``, which hides notes, progress and summary."""
    for warning in warnings:
        _say(f"{PROG}: warning: {warning}")


def _note(line: str) -> None:
    """What the run did that the user may not have meant (``-q`` hides it)."""
    if not _voice.quiet:
        _say(f"{PROG}: {line}")


def _deliver(run: Any, config: Any, clients: Any, *, force: bool) -> Any:
    """Store and send the report; one line on standard error per channel (the run exits 1 when any failed or
    is held by another run)."""
    from analysis.service import deliver_run

    run = deliver_run(run, config, clients, force=force)
    for outcome in run.delivery.outcomes:
        line = _delivery_line(outcome)
        if not _voice.quiet or not line.startswith(f"{PROG}: delivery: "):  # -q hides only what went well
            _say(line)
    return run


NO_IDEMPOTENCY_TABLE = (
    "no idempotency table (IDEMPOTENCY_TABLE): nothing stops another run, or a re-run, from sending this "
    "window's report again"
)


def _delivery_line(outcome: Any) -> str:
    """One line per channel: failed and held channels as errors, a send the table did not record as a warning."""
    if outcome.status == "failed":
        return f"{PROG}: error: delivery: {outcome.channel} failed: {outcome.detail}"
    if outcome.status == "in_progress":
        return f"{PROG}: error: delivery: {outcome.channel} in_progress: {outcome.detail}"
    if not outcome.recorded:
        return f"{PROG}: warning: delivery: {outcome.channel} sent, {outcome.detail}"
    return f"{PROG}: delivery: {outcome.channel} {outcome.status}"


def _render(report: Report, fmt: str) -> str:
    from analysis import render

    return render.render(report, fmt)


def _ledger(folder: Path) -> FileLedger:
    from analysis.ledger_stores import FileLedger, LedgerError

    try:
        return FileLedger(folder)
    except LedgerError as error:
        raise UsageError(f"--ledger {error}") from error


def _write(text: str, out: Path | None) -> None:
    from analysis.redact import printable

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
    data = text.encode("utf-8")
    if out.suffix.lower() == GZIP:
        import gzip

        data = gzip.compress(data, mtime=0)  # the same report, the same bytes
    with os.fdopen(handle, "wb") as stream:
        stream.write(data)


NON_BLOCK = getattr(os, "O_NONBLOCK", 0)
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX; Windows has no such flag (and _check_out still applies)


# --- the other commands ------------------------------------------------------------------------------


def _explain(args: argparse.Namespace) -> int:
    from analysis.explain import ExplainError, explain_bytes
    from analysis.redact import printable

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


def _alerts(args: argparse.Namespace) -> int:
    """``alerts``: the window's replay through the alert rules (``analysis.alert_replay_run``), text or JSON."""
    from analysis.alert_replay_run import (
        AlertsRequest,
        AlertsRequestError,
        alerts_json,
        alerts_text,
        organization_note,
        run_alerts,
    )
    from analysis.sources import SourceError

    settings = _settings(args)
    out = Path(args.out) if args.out and args.out != STANDARD_OUTPUT else None
    _check_out(out)
    spec = args.suppressions
    if spec is not None and not spec.startswith(("s3://", "ssm:")):
        _check_suppressions_file(spec)
    needs = _checked_sources(args, settings)
    _check_aws(needs, deliver=False, organization=False)
    if spec is not None and spec.startswith(("s3://", "ssm:")):  # read with the default credentials and region
        from analysis.aws_clients import SetupError, check_setup

        try:
            check_setup(region=True)
        except SetupError as error:
            raise UsageError(f"--suppressions {spec}: {error}") from error
    day = args.day.date() if args.day else None
    request = AlertsRequest(tuple(args.source), args.since, args.until, day, spec)
    try:
        run = run_alerts(request, settings)
    except (AlertsRequestError, SourceError) as error:
        raise UsageError(str(error)) from error
    _warn([f"expired suppression, no longer applies: {expired}" for expired in run.expired_suppressions])
    _warn(run.problems)
    _write(alerts_json(run) if args.format == "json" else alerts_text(run), out)
    unknown = organization_note(run, settings)
    if unknown is not None:
        _note(unknown)
    if out is not None:
        counts = run.counts()
        _note(f"{out}: {counts['alert']} alert(s) for {counts['denials']} denial(s)")
    return EXIT_OK


def _check_suppressions_file(spec: str) -> None:
    """``--suppressions FILE``: a regular file (a directory or a FIFO is named as such, before any source is read)."""
    path = Path(spec).expanduser()
    if path.is_dir():
        raise UsageError(f"--suppressions {spec}: a directory, not a file")
    if not path.exists():
        raise UsageError(f"--suppressions {spec}: no such file")
    if not path.is_file():
        raise UsageError(f"--suppressions {spec}: not a regular file")


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

    _check_folder(args.out)
    try:
        run_demo(args.out, quiet=_voice.quiet)
    except OSError as error:  # the checks cannot foresee everything (/proc, a full disk): still one line
        where = os.fsdecode(error.filename) if error.filename is not None else str(args.out)
        at = "" if where == str(args.out) else f"{where}: "
        raise UsageError(f"demo --out {args.out}: {at}cannot be written ({error.strerror or error})") from error
    return EXIT_OK


def _check_folder(folder: Path) -> None:
    """``demo --out``: a folder that is, or can be made, before any work."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"demo --out {folder}: is not a folder; name a folder (it is made if missing)")
    parent = next((above for above in folder.parents if above.exists()), None)
    if parent is not None and not parent.is_dir():
        raise UsageError(f"demo --out {folder}: {parent} is not a folder")
    writable = folder if folder.is_dir() else parent
    if writable is not None and not os.access(writable, os.W_OK | os.X_OK):
        raise UsageError(f"demo --out {folder}: cannot write in {writable}")


def _verify(args: argparse.Namespace) -> int:
    """The proof of every proposed policy (analysis.proof): exit 0 when each is proven, 1 when any is not."""
    from pydantic import ValidationError

    from analysis.contract import Report

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
    from analysis.identifiers import split_list
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
    from analysis.windows import check_reportable_time

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
    from analysis.windows import check_reportable_day

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
