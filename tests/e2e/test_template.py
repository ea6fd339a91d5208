"""template.yaml against the tools an engineer would run: cfn-lint (the source and the expanded template),
``sam validate --lint`` and checkov (each in its own environment, made by ``make tools``); and the
trail-source permissions resolved for every kind of source, as CloudFormation resolves them (moto)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.stack import CODE_BUCKET, FUNCTIONS, ROOT, TEMPLATE, dumps, expanded_template

ACCOUNT = "123456789012"  # moto's default account
STORE_ID = "EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE"
STORE_ARN = f"arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/{STORE_ID}"
SOURCES = {
    "s3": {"TrailSource": "s3://org-trail/AWSLogs?accounts=111122223333&margin_hours=6"},
    "lookup": {
        "TrailSource": "lookup:us-east-1,eu-west-1",
        "LookupRoleName": "AuditReadOnly",
        "LookupOrganization": "true",
    },
    "athena": {
        "TrailSource": "athena:security.cloudtrail_logs?workgroup=audit&output=s3://athena-results/q/",
        "AthenaTrailBucket": "org-trail",
    },
    "athena-workgroup-output": {
        "TrailSource": "athena:security.cloudtrail_logs",
        "AthenaTrailBucket": "org-trail",
        "AthenaResultsBucket": "enforced-results",
    },
    "lake-id": {"TrailSource": f"lake:{STORE_ID}"},
    "lake-arn": {"TrailSource": f"lake:{STORE_ARN}"},
}
TOOLS = ROOT / ".tools"


def _tool(name: str) -> Path:
    path = TOOLS / name / "bin" / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: `make test` makes it with `make tools`")
        pytest.skip(f"{path} is missing: run `make tools`")
    return path


def _cfn_lint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cfn-lint"), str(path)], capture_output=True, text=True, timeout=300
    )


def test_cfn_lint_passes_the_source_template():
    done = _cfn_lint(TEMPLATE)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_cfn_lint_passes_the_expanded_template(kind, tmp_path):
    # the expanded template is where cfn-lint sees bad cron, timeouts over 900 and IAM action typos
    expanded = tmp_path / "expanded.json"
    expanded.write_text(dumps(expanded_template(SOURCES[kind])))
    done = _cfn_lint(expanded)
    assert done.returncode == 0, done.stdout + done.stderr


def test_sam_validate_lint_passes():
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    done = subprocess.run(
        [str(_tool("sam")), "validate", "--lint", "--template", str(TEMPLATE), "--region", "us-east-1"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is a valid SAM Template" in done.stdout + done.stderr


def test_checkov_finds_nothing_unjustified():
    done = subprocess.run(
        [str(_tool("checkov")), "--file", str(TEMPLATE), "--framework", "cloudformation", "--skip-download",
         "--output", "json"],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    result = json.loads(done.stdout)
    summary = result["summary"]
    failed = [(c["check_id"], c["resource"]) for c in result["results"]["failed_checks"]]
    assert summary["failed"] == 0, failed
    assert summary["passed"] > 30
    skipped = result["results"]["skipped_checks"]
    reasons = [check["check_result"]["suppress_comment"] for check in skipped]
    assert len(reasons) == summary["skipped"] > 0
    assert all(len(reason) > 40 for reason in reasons), "every skip says why"


# --- the trail source's permissions, resolved -------------------------------------------------------


def _daily_role_statements(parameters: dict[str, str]) -> dict[str, dict]:
    """The daily function's role statements by Sid, from a stack moto created with these parameters."""
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket=CODE_BUCKET)
        for name in FUNCTIONS:
            session.client("s3").put_object(Bucket=CODE_BUCKET, Key=f"{name}.zip", Body=b"PK\x05\x06" + bytes(18))
        cloudformation = session.client("cloudformation")
        cloudformation.create_stack(
            StackName="auditor",
            TemplateBody=dumps(expanded_template(parameters)),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        iam = session.client("iam")
        role = next(r["RoleName"] for r in iam.list_roles()["Roles"] if "DailyReportRole" in r["RoleName"])
        document = iam.get_role_policy(RoleName=role, PolicyName="run")["PolicyDocument"]
    document = ast.literal_eval(document) if isinstance(document, str) else document
    return {s["Sid"]: s for s in document["Statement"] if s}


TRAIL_SIDS = {
    "ListTrailFiles", "ReadTrailFiles", "DecryptTrailFiles", "LookupEventsTakesNoResource", "ReadOtherAccounts",
    "ListAccountsTakesNoResource", "AthenaQuery", "AthenaTable", "AthenaReadsTrailFiles", "AthenaWritesResults",
    "LakeQuery",
}  # fmt: skip


def test_an_s3_source_reads_only_its_bucket():
    statements = _daily_role_statements(SOURCES["s3"])
    assert set(statements) & TRAIL_SIDS == {"ListTrailFiles", "ReadTrailFiles"}
    assert statements["ListTrailFiles"]["Resource"] == "arn:aws:s3:::org-trail"
    assert statements["ReadTrailFiles"]["Resource"] == "arn:aws:s3:::org-trail/*"


def test_a_lookup_source_over_the_organization_assumes_only_its_role():
    statements = _daily_role_statements(SOURCES["lookup"])
    assert set(statements) & TRAIL_SIDS == {
        "LookupEventsTakesNoResource",
        "ReadOtherAccounts",
        "ListAccountsTakesNoResource",
    }
    assert statements["ReadOtherAccounts"]["Resource"] == "arn:aws:iam::*:role/AuditReadOnly"


def test_an_athena_source_reaches_its_workgroup_table_and_buckets():
    statements = _daily_role_statements(SOURCES["athena"])
    assert set(statements) & TRAIL_SIDS == {
        "AthenaQuery",
        "AthenaTable",
        "AthenaReadsTrailFiles",
        "AthenaWritesResults",
    }
    assert statements["AthenaQuery"]["Resource"] == f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/audit"
    assert statements["AthenaTable"]["Resource"] == [
        f"arn:aws:glue:us-east-1:{ACCOUNT}:catalog",
        f"arn:aws:glue:us-east-1:{ACCOUNT}:database/security",
        f"arn:aws:glue:us-east-1:{ACCOUNT}:table/security/cloudtrail_logs",
    ]
    assert statements["AthenaWritesResults"]["Resource"] == [
        "arn:aws:s3:::athena-results",
        "arn:aws:s3:::athena-results/*",
    ]
    assert statements["AthenaReadsTrailFiles"]["Resource"] == ["arn:aws:s3:::org-trail", "arn:aws:s3:::org-trail/*"]


def test_an_athena_source_without_output_uses_the_primary_workgroup_and_the_enforced_bucket():
    statements = _daily_role_statements(SOURCES["athena-workgroup-output"])
    assert statements["AthenaQuery"]["Resource"] == f"arn:aws:athena:us-east-1:{ACCOUNT}:workgroup/primary"
    assert statements["AthenaWritesResults"]["Resource"][1] == "arn:aws:s3:::enforced-results/*"


def test_mail_is_allowed_only_from_the_sender_and_the_role_cannot_sign_report_links():
    parameters = {**SOURCES["s3"], "ReportEmailFrom": "reports@example.com", "ReportEmailTo": "a@example.com"}
    statements = _daily_role_statements(parameters)
    assert statements["SendReportEmail"]["Condition"] == {"StringEquals": {"ses:FromAddress": "reports@example.com"}}
    assert "OpenPresignedLinks" not in statements
    reads_reports = [
        sid for sid, s in statements.items() if "s3:GetObject" in str(s["Action"]) and "/reports/" in str(s["Resource"])
    ]
    assert reads_reports == []  # no presigned link is made, so the role needs no read of its own reports


@pytest.mark.parametrize(
    ("kind", "store"),
    [
        ("lake-id", f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:eventdatastore/{STORE_ID}"),
        ("lake-arn", STORE_ARN),
    ],
)
def test_a_lake_source_queries_only_its_event_data_store(kind, store):
    statements = _daily_role_statements(SOURCES[kind])
    assert set(statements) & TRAIL_SIDS == {"LakeQuery"}
    assert statements["LakeQuery"]["Resource"] == store


# --- exactly once by default ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_the_daily_function_always_delivers_through_the_idempotency_table(kind):
    """Without a table two runs of a window would both send (issue 15): the stack always has one, wired to the
    daily function whatever its parameters, with no condition that could leave it out."""
    resources = expanded_template(SOURCES[kind])["Resources"]
    assert resources["StateTable"]["Type"] == "AWS::DynamoDB::Table"
    assert "Condition" not in resources["StateTable"]
    assert resources["StateTable"]["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    variables = resources["DailyReportFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["IDEMPOTENCY_TABLE"] == {"Ref": "StateTable"}
    assert variables["STATE_TABLE"] == {"Ref": "StateTable"}
    assert resources["DailyReportFunction"]["Properties"]["ReservedConcurrentExecutions"] == 1
