"""The command line's manners, run as a user runs it (a subprocess, a terminal faked with a pseudo-terminal):
help that starts at once, a summary and every file on a terminal, the JSON alone when piped, the details CSV,
Ctrl-C, and shell completion."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import factories as f

ROOT = Path(__file__).parents[2]
SAMPLE_DAY = "2026-11-28"
# What --help must not load: the analysis stack (pandas, numpy), AWS (boto3, botocore), the report's models
# (pydantic) and the terminal renderer (rich).
HEAVY = ("pandas", "numpy", "boto3", "botocore", "pydantic", "analysis.contract", "analysis.settings", "rich")
COMMANDS = ("report", "alerts", "explain", "demo", "verify", "athena-ddl")
ANSI = "\x1b["


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in {"NO_COLOR", "TRAIL_SOURCE", "COLUMNS"}}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def run(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analysis", *args], capture_output=True, text=True, cwd=cwd, env=_env(**env), timeout=120
    )


def on_a_terminal(*args: str, cwd: Path, **env: str) -> tuple[int, str, str]:
    """Run with standard output on a pseudo-terminal (standard error piped): exit status, what the terminal
    showed, and standard error."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "analysis", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=_env(COLUMNS="100", **env),
    )
    os.close(follower)
    shown = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            process.kill()
            raise AssertionError("no output for 60 s")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end closed: the program ended
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.stderr is not None
    error = process.stderr.read().decode()
    return process.wait(timeout=60), shown.decode().replace("\r\n", "\n"), error


# --- help starts at once ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_loads_nothing_heavy(command):
    arguments = [command, "--help"] if command else ["--help"]
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['apprunner-audit', *{arguments!r}]\n"
        "try:\n    runpy.run_module('analysis', run_name='__main__')\n"
        "except SystemExit as done:\n    code = done.code\n"
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_env(), timeout=60)
    assert done.stderr.strip() == "0 []", done.stderr
    assert "usage: apprunner-audit" in done.stdout


def test_help_and_version_take_a_fraction_of_a_second():
    """A measure to report, bounded generously (two shared cores): the module checks above are the real test."""
    started = time.perf_counter()
    for arguments in (["--help"], ["report", "--help"], ["--version"]):
        assert run(*arguments).returncode == 0
    assert (time.perf_counter() - started) / 3 < 1.0


def test_version_is_one_line_on_standard_output():
    done = run("--version")
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("apprunner-audit ") and done.stdout.count("\n") == 1


# --- a terminal: every file and a summary; piped: the JSON alone -------------------------------------


def test_on_a_terminal_every_format_is_written_and_a_summary_printed(tmp_path):
    code, shown, error = on_a_terminal("report", "--source", "sample", "--day", SAMPLE_DAY, cwd=tmp_path)
    assert code == 0, error
    folder = tmp_path / "apprunner-audit-reports" / SAMPLE_DAY
    names = sorted(path.name for path in folder.iterdir())
    assert names == ["report.csv", "report.details.csv", "report.html", "report.json", "report.md"]
    report = json.loads((folder / "report.json").read_text())
    assert report["totals"]["denials"] == 82  # the sample day (scripts/SAMPLE_DAY.md)
    assert (folder / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert (folder / "report.md").read_text().startswith("# ")
    assert "Full reports:" in shown and f"apprunner-audit-reports/{SAMPLE_DAY}/report.html" in shown
    assert ANSI in shown, "colour on a terminal"
    assert '"schema_version"' not in shown, "not the JSON"
    assert len(shown.splitlines()) < 60, "a summary, not the report"


def test_no_color_turns_the_summary_s_colour_off(tmp_path):
    code, shown, _ = on_a_terminal("report", "--source", "sample", "--day", SAMPLE_DAY, cwd=tmp_path, NO_COLOR="1")
    assert code == 0 and "Full reports:" in shown and ANSI not in shown


@pytest.mark.parametrize(
    ("window", "label"),
    [
        (["--since", "2026-11-28T06:00:00Z", "--until", "2026-11-28T18:00:00Z"], "20261128T060000Z_20261128T180000Z"),
        ([], "all-{made}"),
    ],
)
def test_the_reports_folder_is_named_after_the_window(tmp_path, window, label):
    """Without a window the folder is ``all-`` and the time the report was made: a second run keeps the first."""
    trail = tmp_path / "trail.json"
    trail.write_text(json.dumps(f.trail_file([f.record()])))
    code, _, error = on_a_terminal("report", "--source", str(trail), *window, cwd=tmp_path)
    assert code == 0, error
    [folder] = (tmp_path / "apprunner-audit-reports").iterdir()
    made = json.loads((folder / "report.json").read_text())["generated_at"]  # 2026-12-02T13:19:03Z
    assert folder.name == label.format(made=made.replace("-", "").replace(":", ""))


def test_quiet_on_a_terminal_writes_the_files_and_prints_nothing(tmp_path):
    code, shown, error = on_a_terminal("report", "-q", "--source", "sample", "--day", SAMPLE_DAY, cwd=tmp_path)
    assert code == 0 and shown == "" and error == ""
    assert (tmp_path / "apprunner-audit-reports" / SAMPLE_DAY / "report.html").is_file()


@pytest.mark.parametrize("arguments", [["--format", "md"], ["--out", "r.html"]])
def test_a_format_or_an_out_on_a_terminal_is_what_it_says(tmp_path, arguments):
    code, shown, error = on_a_terminal("report", "--source", "sample", "--day", SAMPLE_DAY, *arguments, cwd=tmp_path)
    assert code == 0, error
    assert not (tmp_path / "apprunner-audit-reports").exists()
    if arguments[0] == "--format":
        assert shown.startswith("# ")  # the Markdown file format, as before
    else:
        assert shown == "" and (tmp_path / "r.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_piped_the_json_alone_goes_to_standard_output(tmp_path):
    done = run("report", "--source", "sample", "--day", SAMPLE_DAY, cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout)["totals"]["denials"] == 82
    assert list(tmp_path.iterdir()) == [], "no files are written"


# --- the details CSV ------------------------------------------------------------------------------------


@pytest.mark.parametrize("arguments", [["--format", "csv", "--out", "denials.csv"], ["--out", "denials.csv"]])
def test_a_csv_out_also_writes_the_details_beside_it_and_says_so(tmp_path, arguments):
    done = run("report", "--source", "sample", "--day", SAMPLE_DAY, *arguments, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    details = tmp_path / "denials.details.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["denials.csv", "denials.details.csv"]
    assert done.stderr.count("\n") == 1 and "denials.details.csv" in done.stderr
    main_rows = list(csv.reader(io.StringIO((tmp_path / "denials.csv").read_text())))
    detail_rows = list(csv.reader(io.StringIO(details.read_text())))
    assert main_rows[0] != detail_rows[0] and len(detail_rows) > len(main_rows)  # one value a row: more rows


def test_csv_to_standard_output_is_the_one_csv(tmp_path):
    done = run("report", "--source", "sample", "--day", SAMPLE_DAY, "--format", "csv", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "" and list(tmp_path.iterdir()) == []


# --- Ctrl-C -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough gzipped trail files that scanning them takes several seconds on this machine."""
    folder = tmp_path_factory.mktemp("large")
    records = [
        f.record(event_time=f"2026-11-28T{hour:02d}:{minute:02d}:00Z") for hour in range(24) for minute in range(60)
    ]
    body = gzip.compress(json.dumps(f.trail_file(records * 12)).encode(), compresslevel=1)  # 17,280 records, 26 MB
    for number in range(24):
        (folder / f"trail-{number:02d}.json.gz").write_bytes(body)
    return folder


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("processes", "after"),
    # worker processes at several moments: one ended while sending its result once made the exit wait forever
    [("1", 0.5), ("1", 1.0), ("1", 1.5), ("1", 2.0), ("0", 1.0)],
)
def test_ctrl_c_during_a_scan_stops_within_a_second_with_one_line_and_exit_130(
    tmp_path, large_folder, processes, after
):
    process = subprocess.Popen(
        [sys.executable, "-m", "analysis", "report", "--source", str(large_folder), "--out", str(tmp_path / "r.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(APPRUNNER_AUDIT_READ_PROCESSES=processes, APPRUNNER_AUDIT_READ_WORKERS="2"),
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 30
    while processes == "1" and len(_children(process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the worker processes have started: the scan is under way
    time.sleep(after)
    assert process.poll() is None, "the scan ended before Ctrl-C: make the folder larger"
    workers = _children(process.pid)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    sent = time.monotonic()
    out, error = process.communicate(timeout=30)
    stopped_after = time.monotonic() - sent
    print(f"processes={processes}, after {after} s: stopped {stopped_after:.2f} s after SIGINT")
    assert process.returncode == 130
    assert error.decode().splitlines() == ["apprunner-audit: interrupted"], error.decode()
    assert out == b"" and not (tmp_path / "r.json").exists()
    assert stopped_after < 2.0, stopped_after  # "within a second", with room for two shared cores
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists() and _state(pid) != "Z"], "workers left"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


# --- shell completion ---------------------------------------------------------------------------------------


def _completions(tmp_path: Path, line: str, program: list[str] | None = None) -> list[str]:
    """What ``eval "$(register-python-argcomplete apprunner-audit)"`` makes bash ask the program for ``line``."""
    answer = tmp_path / "completions"
    done = subprocess.run(
        program or [sys.executable, "-m", "analysis"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        env=_env(
            _ARGCOMPLETE="1",
            _ARGCOMPLETE_IFS="\n",
            _ARGCOMPLETE_STDOUT_FILENAME=str(answer),
            COMP_LINE=line,
            COMP_POINT=str(len(line)),
            COMP_TYPE="9",
        ),
    )
    assert done.returncode == 0, done.stderr
    return answer.read_text().split("\n")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("apprunner-audit ", {"report", "explain", "demo", "verify", "athena-ddl"}),
        ("apprunner-audit report --fa", {"--fail-on"}),
        ("apprunner-audit report --fail-on ", {"low", "medium", "high", "critical"}),
        ("apprunner-audit report --source s", {"sample", "s3://"}),
        ("apprunner-audit report --source l", {"lookup:", "lake:", "logs/"}),
    ],
)
def test_completion_offers_commands_options_and_source_forms(tmp_path, line, expected):
    (tmp_path / "logs").mkdir()
    assert expected <= {item.strip() for item in _completions(tmp_path, line)}


def test_the_installed_command_completes_and_is_marked_for_global_completion(tmp_path):
    script = Path(sys.executable).parent / "apprunner-audit"
    if not script.exists():
        pytest.skip("the console script is not installed in this environment")
    assert "report" in {c.strip() for c in _completions(tmp_path, "apprunner-audit re", [str(script)])}
    for module in ("analysis/cli.py", "analysis/__main__.py"):  # argcomplete reads the first 1024 bytes
        assert "PYTHON_ARGCOMPLETE_OK" in (ROOT / module).read_text()[:1024]


def test_a_normal_run_does_not_load_argcomplete():
    probe = (
        "import sys\nfrom analysis.cli import main\nmain(['athena-ddl', '--bucket', 'my-trail-bucket'])\n"
        "print('argcomplete' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=_env(), timeout=60)
    assert done.stderr.strip() == "False"
