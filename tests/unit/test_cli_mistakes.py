"""No mistake may look like success (issue 11): each is one line on standard error and a non-zero exit, found
before any work where it can be, never a traceback and never the same failure twice.

The CLI runs in-process (``cli.main``); nothing here reaches AWS: the credential chain is emptied (no variables,
no files, no instance metadata), and where the run must not start, starting it fails the test.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

from analysis import aws_clients, cli, service
from analysis.sources import SourceError, check_spec
from tests import factories as f

SAMPLE_DAY = "2026-11-28"
ROOT = Path(__file__).parents[2]
CHANNEL_VARIABLES = ("REPORT_BUCKET", "REPORT_EMAIL_FROM", "REPORT_EMAIL_TO", "REPORT_TOPIC_ARN", "REPORT_EVENT_BUS")
# The forms docs/CONTRACT.md names for --source.
FORMS = ("sample", "s3://BUCKET", "lookup:REGION", "athena:DATABASE.TABLE", "lake:EVENT_DATA_STORE")


def _main(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, list[str]]:
    code = cli.main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err.splitlines()


def _refused(capsys: pytest.CaptureFixture[str], *arguments: str) -> str:
    """Exit 2, nothing on standard output, exactly one line on standard error: that line."""
    code, out, lines = _main(capsys, *arguments)
    assert code == cli.EXIT_USAGE, lines
    assert out == "" and len(lines) == 1 and lines[0].startswith("apprunner-audit: error: "), lines
    assert "Traceback" not in lines[0]
    return lines[0]


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run, and any AWS client, must not start."""

    def started(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the run started")

    for name in ("run_window", "run_daily"):
        monkeypatch.setattr(service, name, started)
    monkeypatch.setattr(aws_clients, "client", started)


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """botocore's whole default chain finds nothing: no variables, no shared files, no container or instance role."""
    for variable in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


@pytest.fixture
def no_destination(monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.config import DELIVERY_ENV

    for variable in DELIVERY_ENV.values():
        monkeypatch.delenv(variable, raising=False)


def _trail(folder: Path, *records: dict[str, Any], name: str = "trail.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(f.trail_file(list(records))))
    return path


# --- which data is reported ------------------------------------------------------------------------


def test_report_without_a_source_says_in_one_line_that_it_reports_the_bundled_sample(capsys, monkeypatch):
    monkeypatch.delenv("TRAIL_SOURCE", raising=False)
    code, out, lines = _main(capsys, "report", "--day", SAMPLE_DAY)
    assert code == cli.EXIT_OK
    assert lines == [NO_SOURCE_WARNING]
    assert json.loads(out)["sources"][0]["name"] == "sample"  # docs/CONTRACT.md keeps --source optional


NO_SOURCE_WARNING = (
    "apprunner-audit: warning: no --source given: reporting the bundled sample day (--source sample); "
    "name your CloudTrail data with --source"
)


def test_quiet_still_warns_that_the_bundled_sample_is_reported(capsys, monkeypatch, tmp_path):
    """In CI, `report -q --fail-on high --out ci.json` with a forgotten --source must not pass on the sample unseen."""
    monkeypatch.delenv("TRAIL_SOURCE", raising=False)
    code, out, lines = _main(capsys, "report", "-q", "--day", SAMPLE_DAY, "--out", str(tmp_path / "ci.json"))
    assert code == cli.EXIT_OK and out == ""
    assert lines == [NO_SOURCE_WARNING]
    assert _main(capsys, "-q", "report", "--day", SAMPLE_DAY)[2] == [NO_SOURCE_WARNING], "-q before the command too"


def test_report_without_a_source_names_the_configured_trail_source(capsys, monkeypatch, tmp_path):
    trail = _trail(tmp_path, f.record())
    monkeypatch.setenv("TRAIL_SOURCE", str(trail))
    code, out, lines = _main(capsys, "report")
    assert code == cli.EXIT_OK and json.loads(out)["totals"]["denials"] == 1
    assert lines == [f"apprunner-audit: no --source given: reporting TRAIL_SOURCE ({trail})"]


def test_a_named_source_says_nothing_about_it_and_quiet_hides_the_trail_source_note(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("TRAIL_SOURCE", raising=False)
    assert _main(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY)[2] == []
    monkeypatch.setenv("TRAIL_SOURCE", str(_trail(tmp_path, f.record())))
    assert _main(capsys, "report", "-q")[2] == [], "TRAIL_SOURCE is the operator's own setting: a note"


# --- delivery with nowhere to go, credentials, regions ---------------------------------------------


def test_deliver_with_no_destination_is_refused_before_any_work_naming_the_variables(capsys, no_destination, no_run):
    line = _refused(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--deliver")
    assert "no destination" in line
    assert all(variable in line for variable in CHANNEL_VARIABLES), line


@pytest.mark.parametrize(
    "destination",
    [
        {"REPORT_BUCKET": "my-reports"},
        {"REPORT_EMAIL_FROM": "reports@example.com", "REPORT_EMAIL_TO": "team@example.com"},
        {"REPORT_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:reports"},
        {"REPORT_EVENT_BUS": "default"},
    ],
)
def test_any_one_channel_is_a_destination(monkeypatch, no_destination, destination):
    for variable, value in destination.items():
        monkeypatch.setenv(variable, value)
    assert cli._delivery_config() is not None


def test_settings_that_only_shape_delivery_are_no_destination(capsys, no_destination, no_run, monkeypatch):
    """A prefix, a key, a link mode, a format, a lease table: how a report would go, not where to."""
    for variable, value in {
        "REPORT_PREFIX": "audit/",
        "REPORT_KMS_KEY_ID": "alias/reports",
        "REPORT_LINK_MODE": "none",
        "REPORT_SNS_FORMAT": "chatbot",
        "REPORT_EVENT_SOURCE": "my.auditor",
        "IDEMPOTENCY_TABLE": "state",
        "REPORT_SEND_EMPTY": "false",
    }.items():
        monkeypatch.setenv(variable, value)
    assert "no destination" in _refused(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--deliver")


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, False),
        ({"prefix": "audit/", "idempotency_table": "state", "sns_format": "chatbot"}, False),
        ({"bucket": "my-reports"}, True),
        ({"sender": "reports@example.com", "recipients": ("team@example.com",)}, True),
        ({"topic_arn": "arn:aws:sns:us-east-1:111122223333:reports"}, True),
        ({"event_bus": "default"}, True),
    ],
)
def test_a_delivery_has_a_destination_when_one_channel_is_set(settings, expected):
    from analysis.config import DeliveryConfig

    assert DeliveryConfig(**settings).has_destination is expected


def test_deliver_without_credentials_is_one_line_saying_what_to_set(capsys, no_credentials, no_run, monkeypatch):
    monkeypatch.setenv("REPORT_BUCKET", "my-reports")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    line = _refused(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--deliver")
    assert line == (
        "apprunner-audit: error: --deliver: no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID/"
        "AWS_SECRET_ACCESS_KEY"
    )


@pytest.mark.parametrize("spec", ["lookup:us-east-1", "s3://my-trail-bucket", "athena:audit.trail", "lake:abc-123"])
def test_an_aws_source_without_credentials_is_one_line_before_any_aws_call(capsys, no_credentials, no_run, spec):
    line = _refused(capsys, "report", "--source", spec, "--day", SAMPLE_DAY)
    assert line.startswith(f"apprunner-audit: error: --source {spec}: no AWS credentials")
    assert "AWS_PROFILE" in line and "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" in line


def test_deliver_without_a_region_says_which_variables_set_one(capsys, no_region, no_run, monkeypatch):
    monkeypatch.setenv("REPORT_BUCKET", "my-reports")
    line = _refused(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--deliver")
    assert (
        line == "apprunner-audit: error: --deliver: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, or AWS_PROFILE"
    )


def test_a_source_whose_client_has_no_region_needs_a_default_one(capsys, no_region, no_run):
    line = _refused(capsys, "report", "--source", "athena:audit.trail", "--day", SAMPLE_DAY)
    assert "no AWS region" in line


@pytest.mark.parametrize(
    "spec", ["lookup:eu-west-1", "s3://my-trail-bucket", "athena:audit.trail?region=eu-west-1",
             "lake:arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/abc-123"]
)  # fmt: skip
def test_a_source_that_names_its_region_or_s3_needs_no_default_region(no_region, spec):
    assert not check_spec(spec).region
    cli._check_aws({spec: check_spec(spec)}, deliver=False, organization=False)  # the conftest's credentials


def test_an_unknown_aws_profile_is_one_line_naming_it(capsys, no_run, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    line = _refused(capsys, "report", "--source", "lookup:us-east-1", "--day", SAMPLE_DAY)
    assert "no-such-profile" in line


def test_credentials_and_region_from_a_profile_pass(no_credentials, no_region, monkeypatch, tmp_path):
    (tmp_path / "config").write_text("[profile audit]\nregion = eu-west-1\n")
    (tmp_path / "credentials").write_text("[audit]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_PROFILE", "audit")
    aws_clients.check_setup(region=True)


# --- --source forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "suggestion"),
    [
        ("s3:/b", "s3://b"),
        ("S3://b", "s3://b"),
        ("Lookup:us-east-1", "lookup:us-east-1"),
        ("gs://x", None),
        ("http://example.com/trail.json", None),
        ("https://example.com/trail.json", None),
        ("file:///var/log/trail.json", None),
    ],
)
def test_an_unknown_source_scheme_is_one_line_listing_the_forms(capsys, no_run, spec, suggestion):
    line = _refused(capsys, "report", "--source", spec)
    assert spec in line and "no such file" not in line  # was: gs:/x: no such file or folder
    assert all(form in line for form in FORMS), line
    assert (f"did you mean {suggestion}?" in line) if suggestion else "did you mean" not in line


def test_a_path_that_exists_is_a_path_whatever_it_looks_like(capsys, monkeypatch, tmp_path):
    folder = tmp_path / "gs:"
    folder.mkdir()
    _trail(folder, f.record())
    monkeypatch.chdir(tmp_path)
    code, out, lines = _main(capsys, "report", "--source", "gs:")
    assert code == cli.EXIT_OK, lines
    assert json.loads(out)["totals"]["denials"] == 1


def test_a_windows_drive_letter_is_not_a_scheme():
    assert check_spec("C:\\trail\\logs") == check_spec("./logs")  # a path (that need not exist yet)


def test_a_mistyped_region_is_one_line_with_the_nearest_region_before_any_aws_call(capsys, no_run):
    line = _refused(capsys, "report", "--source", "lookup:eu-wst-1")
    assert line.endswith("eu-wst-1 is not an AWS region (did you mean eu-west-1?)")


@pytest.mark.parametrize(
    "region",
    # One region of each partition (https://docs.aws.amazon.com/general/latest/gr/rande.html and the partitions'
    # documentation): commercial, China, GovCloud, and the ISO partitions.
    ["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1"],
)
def test_every_partition_s_regions_are_known(region):
    assert aws_clients.region_problem(region) is None


@pytest.mark.parametrize(
    ("spec", "nearest"),
    [
        ("lookup:us-east-1,eu-wst-1", "eu-west-1"),  # one bad region of several
        ("lookup:us-esat-1", "us-east-1"),
        ("s3://trail?regions=eu-centrl-1", "eu-central-1"),
        ("athena:audit.trail?region=ap-southeast-22", "ap-southeast-2"),
    ],
)
def test_each_region_a_spec_names_is_checked(spec, nearest):
    with pytest.raises(SourceError, match=f"did you mean {nearest}"):
        check_spec(spec)


def test_a_region_like_no_other_says_botocore_may_be_too_old():
    problem = aws_clients.region_problem("zz-nowhere-9") or ""
    assert "not an AWS region" in problem and "upgrade boto3" in problem


def test_the_lambda_path_checks_the_spec_too():
    from analysis.model import Window
    from analysis.sources import sources_from_spec

    with pytest.raises(SourceError, match="did you mean s3://trail"):
        sources_from_spec("S3://trail", Window(None, None))


# --- every source failed: each failure once ---------------------------------------------------------


def test_every_source_failing_names_each_failed_source_once(capsys, tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text("{oops")
    second.write_text("[1,")
    code, out, lines = _main(capsys, "report", "--source", str(first), "--source", str(second))
    assert code == cli.EXIT_USAGE and out == ""
    errors = [line for line in lines if line.startswith("apprunner-audit: error: ")]
    assert [line.split(": ")[2] for line in errors] == [str(first), str(second)]
    assert not any("every source failed" in line for line in lines), "no summary repeating them"
    for path in (first, second):
        assert sum("could not be read" in line and str(path) in line for line in lines) == 1, lines


# --- --out and the format ---------------------------------------------------------------------------


@pytest.mark.parametrize("exists", [True, False])
def test_out_naming_a_folder_with_a_trailing_slash_is_refused(capsys, tmp_path, exists, no_run):
    folder = tmp_path / "reports"
    if exists:
        folder.mkdir()
    line = _refused(capsys, "report", "--source", "sample", "--out", f"{folder}/")
    assert f"{folder}/" in line and "folder" in line
    assert folder.is_dir() == exists and not (folder.exists() and any(folder.iterdir()))


def test_out_the_system_refuses_to_open_is_one_line_after_the_run(capsys, tmp_path, monkeypatch):
    """Permissions checked up front can still change, or not apply (root): the open's own refusal is one line."""
    out = tmp_path / "report.json"
    real_open = os.open

    def refuse(path: Any, *args: Any, **kwargs: Any) -> int:
        if Path(path) == out:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    line = _refused(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--out", str(out))
    assert line == f"apprunner-audit: error: --out {out}: Permission denied"


def _looks_like(fmt: str, text: str) -> bool:
    """Each format by its own grammar, not by the renderer's code."""
    if fmt == "json":
        return json.loads(text)["schema_version"] == "1"
    if fmt == "md":
        return text.startswith("# ")
    if fmt == "html":
        return text.lstrip().lower().startswith("<!doctype html")
    return text.splitlines()[0].count(",") >= 3 and not text.lstrip().startswith(("{", "<", "#"))


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("report.json", "json"),
        ("report.md", "md"),
        ("report.markdown", "md"),
        ("report.html", "html"),
        ("report.htm", "html"),
        ("REPORT.HTML", "html"),
        ("report.csv", "csv"),
        ("report.txt", "json"),  # no format of ours: the default
        ("report", "json"),
    ],
)
def test_the_format_follows_out_s_extension(capsys, tmp_path, name, fmt):
    out = tmp_path / name
    code, _, lines = _main(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--out", str(out))
    assert code == cli.EXIT_OK, lines
    assert _looks_like(fmt, out.read_text())


def test_a_format_the_extension_agrees_with_is_accepted(capsys, tmp_path):
    out = tmp_path / "report.html"
    assert _main(capsys, "report", "--source", "sample", "--format", "html", "--out", str(out))[0] == cli.EXIT_OK
    assert _looks_like("html", out.read_text())


@pytest.mark.parametrize(("fmt", "name"), [("json", "x.html"), ("md", "x.csv"), ("html", "x.json"), ("csv", "x.md")])
def test_a_format_the_extension_contradicts_is_refused_and_nothing_written(capsys, tmp_path, fmt, name, no_run):
    out = tmp_path / name
    line = _refused(capsys, "report", "--source", "sample", "--format", fmt, "--out", str(out))
    assert f"--format {fmt}" in line and str(out) in line
    assert not out.exists()


# --- --fail-on ----------------------------------------------------------------------------------------


def _day_of(tmp_path: Path, *records: dict[str, Any]) -> list[str]:
    return ["report", "--source", str(_trail(tmp_path, *records)), "--day", SAMPLE_DAY]


# docs/CONTRACT.md's severity rule: a same-account Read refusal is low, a Write refusal medium, the root user critical.
LOW = f.record("DescribeService")
MEDIUM = f.record("UpdateService")
CRITICAL = f.record("DeleteService", identity=f.root())


@pytest.mark.parametrize(
    ("records", "threshold", "expected"),
    [
        ([LOW], "low", cli.EXIT_FINDINGS),
        ([LOW], "medium", cli.EXIT_OK),
        ([LOW, MEDIUM], "medium", cli.EXIT_FINDINGS),
        ([LOW, MEDIUM], "high", cli.EXIT_OK),
        ([LOW, MEDIUM, CRITICAL], "critical", cli.EXIT_FINDINGS),
        ([], "low", cli.EXIT_OK),
    ],
)
def test_fail_on_exits_3_when_a_finding_is_at_or_above_the_severity(capsys, tmp_path, records, threshold, expected):
    out = tmp_path / "report.json"
    arguments = [*_day_of(tmp_path, *records), "--fail-on", threshold, "--out", str(out)]
    code, _, lines = _main(capsys, *arguments)
    assert code == expected, lines
    assert json.loads(out.read_text())["totals"]["denials"] == len(records), "the report is written either way"
    lines = [line for line in lines if not line.endswith(": no record in the file")]  # the empty trail's warning
    assert (len(lines) == 1 and f"--fail-on {threshold}" in lines[0]) if expected else lines == []


def test_fail_on_accepts_only_the_report_s_severities(capsys):
    from typing import get_args

    from analysis.contract import Severity

    assert set(cli.SEVERITIES) == set(get_args(Severity))
    assert "--fail-on" in _refused(capsys, "report", "--fail-on", "severe")


# --- -q, -v, --version ---------------------------------------------------------------------------------


def test_quiet_hides_notes_and_keeps_warnings_and_errors(capsys, tmp_path):
    (tmp_path / "bad.json").write_text("{oops")
    _trail(tmp_path, f.record(), name="good.json")
    out_file = tmp_path / "out" / "denials.csv"
    arguments = ("report", "--source", str(tmp_path), "--out", str(out_file), "--fail-on", "low")
    code, _, lines = _main(capsys, *arguments)
    assert code == cli.EXIT_FINDINGS and len(lines) == 3, "the warning, the details CSV's note, the --fail-on note"
    code, _, lines = _main(capsys, *arguments, "-q")
    assert code == cli.EXIT_FINDINGS and len(lines) == 1 and lines[0].startswith("apprunner-audit: warning: ")
    assert "bad.json" in lines[0], "a file that could not be read is a warning: -q does not hide it"
    assert _main(capsys, "-q", "report", "--source", str(tmp_path / "missing"))[2] != [], "errors still show"


@pytest.mark.parametrize(
    ("flags", "level"),
    [([], logging.WARNING), (["-q"], logging.WARNING), (["-v"], logging.INFO), (["-vv"], logging.DEBUG)],
)
def test_verbose_sets_the_log_level(capsys, flags, level):
    cli.main([*flags, "athena-ddl", "--bucket", "my-trail-bucket"])
    assert logging.getLogger("analysis").getEffectiveLevel() == level
    cli.main(["athena-ddl", "--bucket", "my-trail-bucket", *flags])  # after the command too
    assert logging.getLogger("analysis").getEffectiveLevel() == level
    libraries = logging.DEBUG if level == logging.DEBUG else logging.WARNING  # -v: this program's INFO only
    assert logging.getLogger("botocore").getEffectiveLevel() == libraries


def test_the_package_s_warnings_are_shown_by_default_each_once(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("APPRUNNER_AUDIT_MAX_DECOMPRESSED_BYTES", "lots")  # read, and warned about, for every file
    for name in ("a.json", "b.json", "c.json"):
        _trail(tmp_path, f.record(), name=name)
    code, _, lines = _main(capsys, "report", "-q", "--source", str(tmp_path))
    assert code == cli.EXIT_OK
    assert len(lines) == 1 and lines[0].startswith("apprunner-audit: warning: APPRUNNER_AUDIT_MAX_DECOMPRESSED_BYTES=")


def test_a_source_s_problem_is_said_once_not_logged_again(capsys, tmp_path):
    (tmp_path / "bad.json").write_text("{oops")
    _trail(tmp_path, f.record(), name="good.json")
    _, _, lines = _main(capsys, "report", "--source", str(tmp_path))
    assert len([line for line in lines if "bad.json" in line]) == 1, lines


def test_verbose_logs_the_sources_the_window_the_counts_and_the_time(capsys, tmp_path):
    for name in ("a.json", "b.json"):
        _trail(tmp_path, f.record(), f.record("ListServices", error_code=None), name=name)
    _, _, lines = _main(capsys, "report", "-v", "--source", str(tmp_path), "--day", SAMPLE_DAY)
    assert f"apprunner-audit: info: reading {tmp_path}" in lines
    assert "apprunner-audit: info: window 2026-11-28T00:00:00Z..2026-11-29T00:00:00Z" in lines
    assert f"apprunner-audit: info: source {tmp_path}: ok, 4 record(s) read, 0 malformed" in lines
    assert any(line.startswith("apprunner-audit: info: 4 record(s) and 2 file(s) read in ") for line in lines), lines


def test_version_is_the_installed_distribution_s(capsys):
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"apprunner-audit {declared}\n"


# --- help ----------------------------------------------------------------------------------------------


def _parsers() -> dict[str, Any]:
    import argparse

    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"apprunner-audit": parser, **commands.choices}


def test_every_option_and_argument_has_help_text():
    missing = [
        f"{name} {action.option_strings or action.dest}"
        for name, parser in _parsers().items()
        for action in parser._actions
        if not (action.help or "").strip() and action.dest != "command"
    ]
    assert missing == []


def test_the_program_s_help_lists_every_command_and_the_exit_statuses():
    text = cli.build_parser().format_help()
    assert all(command in text for command in ("report", "explain", "demo", "verify", "athena-ddl"))
    for status in ("0", "1", "2", "3", "130"):
        assert f"\n  {status} " in text
    assert 'eval "$(register-python-argcomplete apprunner-audit)"' in text


REPORT_EXAMPLES = (
    *("--source ./", "--source sample", "--source s3://", "--source lookup:", "--source athena:", "--source lake:"),
    *("--day 2026-11-28", "--format md", "--out report.html", "--deliver", "--fail-on high"),
)


def test_report_s_help_shows_an_example_of_every_source_form_and_option_that_matters():
    text = _parsers()["report"].format_help()
    examples = text[text.index("--source forms") :]
    for form in REPORT_EXAMPLES:
        assert form in examples, form
    assert "\n  3 " in examples and "\n  130 " in examples


def test_every_option_of_report_has_an_example_in_its_help():
    parser = _parsers()["report"]
    examples = parser.format_help().split("\nexamples:\n", 1)[1]
    options = {
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and not option.startswith("--no-")
    }
    missing = sorted(option for option in options - {"--help", "--verbose", "--quiet"} if option not in examples)
    assert missing == []


def test_every_command_s_help_has_an_example():
    for name, parser in _parsers().items():
        assert "example" in (parser.epilog or ""), name


# --- Ctrl-C (the subprocess test with SIGINT is in tests/e2e/test_cli_manners.py) ---------------------------


def test_an_interrupted_run_called_from_python_returns_130_with_one_line(capsys, monkeypatch):
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(service, "run_window", interrupted)
    code, out, lines = _main(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY)
    assert code == cli.EXIT_INTERRUPTED == 130
    assert out == "" and lines == ["apprunner-audit: interrupted"]


# --- progress: passed down, and cleared before anything else is said -----------------------------------------


class _Recording:
    def __init__(self, events: list[str]) -> None:
        self.events = events

    def files(self, done: int, total: int, bytes_done: int, bytes_total: int) -> None:
        self.events.append("files")

    def pages(self, source: str, region: str, pages: int, events: int) -> None:
        self.events.append("pages")

    def query(self, source: str, state: str) -> None:
        self.events.append("query")

    def close(self) -> None:
        self.events.append("close")


@pytest.mark.parametrize("quiet", [False, True])
def test_the_run_s_progress_is_closed_before_its_warnings(capsys, monkeypatch, tmp_path, quiet):
    import sys

    import analysis.progress

    events: list[str] = []
    asked: dict[str, Any] = {}

    def reporter(stream: Any, *, quiet: bool = False) -> _Recording:
        asked.update(stream=stream, quiet=quiet)
        return _Recording(events)

    monkeypatch.setattr(analysis.progress, "terminal_progress", reporter)
    real_say = cli._say
    monkeypatch.setattr(cli, "_say", lambda line: (events.append("said"), real_say(line)))
    (tmp_path / "bad.json").write_text("{oops")
    _trail(tmp_path, f.record(), name="good.json")
    code, _, _ = _main(capsys, "report", *(["-q"] if quiet else []), "--source", str(tmp_path))
    assert code == cli.EXIT_OK
    assert asked == {"stream": sys.stderr, "quiet": quiet}
    assert "files" in events, "the reporter went down to the file source"
    said = [at for at, event in enumerate(events) if event == "said"]
    assert events.count("close") == 1 and all(at > events.index("close") for at in said)
    assert said, "the warning about bad.json is said (with -q too), after the progress is cleared"


# --- demo --------------------------------------------------------------------------------------------


def test_demo_into_a_file_is_one_line_before_any_work(capsys, tmp_path, monkeypatch):
    import analysis.demo

    monkeypatch.setattr(analysis.demo, "analyse", lambda *a, **k: pytest.fail("the demo ran"))
    existing = tmp_path / "x.json"
    existing.write_text("{}")
    assert "is not a folder" in _refused(capsys, "demo", "--out", str(existing))
    assert f"{existing} is not a folder" in _refused(capsys, "demo", "--out", str(existing / "sub"))
    assert existing.read_text() == "{}"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="Linux's /proc: a folder nothing can be made in")
def test_demo_into_a_folder_the_system_refuses_is_one_line(capsys):
    line = _refused(capsys, "demo", "--out", "/proc/apprunner-audit-demo")
    assert line.startswith("apprunner-audit: error: demo --out /proc/apprunner-audit-demo: cannot be written ("), line


def test_demo_quiet_writes_the_reports_and_prints_nothing(capsys, tmp_path):
    code, out, lines = _main(capsys, "demo", "-q", "--out", str(tmp_path / "demo"))
    assert code == cli.EXIT_OK and out == "" and lines == []
    assert (tmp_path / "demo" / "report.html").is_file() and (tmp_path / "demo" / "report.json").is_file()


# --- --service ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "nearest"), [("apprunr", "apprunner"), ("app-runner", "apprunner"), ("lamda", "lambda"), ("iamm", "iam")]
)
def test_a_mistyped_service_is_refused_with_the_nearest_prefix_before_any_work(capsys, no_run, given, nearest):
    line = _refused(capsys, "report", "--source", "sample", "--service", given)
    assert line == (
        f"apprunner-audit: error: --service: {given!r} is not a service prefix of the IAM catalog "
        f"(did you mean {nearest}?)"
    )


def test_a_mistyped_audited_service_variable_is_named(capsys, no_run, monkeypatch):
    monkeypatch.setenv("AUDITED_SERVICE", "apprunr")
    assert _refused(capsys, "report", "--source", "sample").startswith("apprunner-audit: error: AUDITED_SERVICE: ")


@pytest.mark.parametrize("service", ["apprunner", "APPRUNNER", "all", "s3", "lambda", "monitoring"])
def test_a_service_the_catalog_knows_is_reported(capsys, service):
    # monitoring: CloudWatch's event source, which the catalog maps to the IAM prefix cloudwatch
    code, out, _ = _main(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--service", service)
    assert code == cli.EXIT_OK and json.loads(out)["totals"]["records_read"] > 0


# --- --fail-on and late arrivals ---------------------------------------------------------------------


def test_fail_on_counts_the_findings_of_late_arrivals(capsys, tmp_path):
    """A denial of 28 November first read on the 29th's run (--ledger) is a late arrival, not a finding of the day:
    --fail-on must see it all the same."""
    trails = tmp_path / "trails"
    trails.mkdir()
    _trail(trails, f.record(event_time="2026-11-28T10:00:00Z"))
    day = ("report", "--source", str(trails), "--day", "2026-11-29", "--ledger", str(tmp_path / "ledger"))
    code, out, lines = _main(capsys, *day, "--fail-on", "low")
    report = json.loads(out)
    assert report["findings"] == [] and len(report["late_arrivals"][0]["findings"]) == 1
    assert code == cli.EXIT_FINDINGS
    assert lines == [
        "apprunner-audit: 1 finding(s) at or above low, 1 of them among late arrivals (--fail-on low): exit 3"
    ]
    severity = report["late_arrivals"][0]["findings"][0]["severity"]
    above = cli.SEVERITIES[cli.SEVERITIES.index(severity) + 1 :]
    if above:  # a threshold above the late finding's severity does not fail
        assert _main(capsys, *day, "--fail-on", above[0])[0] == cli.EXIT_OK


# --- --out - and --out F.json.gz ---------------------------------------------------------------------


def test_out_dash_is_standard_output(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = _main(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--out", "-")
    assert code == cli.EXIT_OK and json.loads(out)["schema_version"] == "1"
    assert list(tmp_path.iterdir()) == [], "no file named -"
    code, out, _ = _main(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--out", "-", "--format", "md")
    assert out.startswith("# ")


@pytest.mark.parametrize(("name", "start"), [("r.json.gz", b"{"), ("r.html.gz", b"<!DOCTYPE html"), ("r.md.gz", b"# ")])
def test_out_gz_writes_the_inner_extension_s_format_gzip_compressed(capsys, tmp_path, name, start):
    import gzip

    code, out, _ = _main(capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--out", str(tmp_path / name))
    assert code == cli.EXIT_OK and out == ""
    assert gzip.decompress((tmp_path / name).read_bytes()).lstrip().startswith(start)


def test_out_csv_gz_writes_the_details_gzip_compressed_too(capsys, tmp_path):
    import gzip

    code, _, lines = _main(
        capsys, "report", "--source", "sample", "--day", SAMPLE_DAY, "--out", str(tmp_path / "d.csv.gz")
    )
    assert code == cli.EXIT_OK and lines[-1].endswith(str(tmp_path / "d.details.csv.gz"))
    details = gzip.decompress((tmp_path / "d.details.csv.gz").read_bytes()).decode()
    assert details.splitlines()[0].count(",") >= 2


def test_a_format_contradicting_out_gz_is_refused_naming_the_file_to_use(capsys, tmp_path, no_run):
    line = _refused(capsys, "report", "--format", "md", "--out", str(tmp_path / "r.json.gz"))
    assert line.endswith(f"name the file {tmp_path / 'r.md.gz'}")


def test_redact_without_a_key_says_its_pseudonyms_match_no_other_run(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("REDACT_KEY", raising=False)
    code, _, lines = _main(capsys, "report", "--source", "sample", "--redact", "--out", str(tmp_path / "r.json"))
    assert code == 0
    assert [line for line in lines if "REDACT_KEY" in line] == [
        "apprunner-audit: warning: --redact without REDACT_KEY: pseudonyms and finding ids come from a random key, "
        "and differ from run to run (set REDACT_KEY, at least 32 characters, to compare redacted reports)"
    ]


def test_redact_with_a_key_says_nothing_of_keys(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("REDACT_KEY", "k" * 32)
    code, _, lines = _main(capsys, "report", "--source", "sample", "--redact", "--out", str(tmp_path / "r.json"))
    assert code == 0 and not [line for line in lines if "REDACT_KEY" in line]
