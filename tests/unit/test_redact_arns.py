"""--redact keeps an ARN's shape (review of issue 11): the fixed words of its resource type's ARN format stay, only
the names and IDs in it are replaced, so a redacted policy's Resource is still an ARN of that type; a name a message
quotes inside an ARN is replaced too; and an IAM action in a sentence stays, even where a role is named like it.

The expected shapes are the ARN formats of the Service Authorization Reference, written out by hand:
``arn:${Partition}:wafv2:${Region}:${Account}:${Scope}/webacl/${Name}/${Id}`` (and ipset, rulegroup),
``…:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}``,
``…:elasticloadbalancing:${Region}:${Account}:listener/app/${LoadBalancerName}/${LoadBalancerId}/${ListenerId}``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from analysis.model import Options
from analysis.redact import redact_report
from analysis.sources.files import FileSource
from tests import factories as f
from tests.analysed import analysed, report_of
from tests.conftest import REAL

KEY = "a test's redaction key, 32 characters or more"
TRAILDISCOVER = REAL / "traildiscover__logExamples__denied.jsonl"
ARN = re.compile(r"arn:aws:[a-z0-9-]+:[^\s\"',]*")
NAME = r"name-[0-9a-f]{8}"
SHAPES = {
    "wafv2": re.compile(rf"arn:aws:wafv2:us-east-1:\d{{12}}:regional/(webacl|ipset|rulegroup)/{NAME}/{NAME}"),
    "logs": re.compile(rf"arn:aws:logs:us-east-1:\d{{12}}:log-group:{NAME}:log-stream:({NAME})?"),
    "elasticloadbalancing": re.compile(
        rf"arn:aws:elasticloadbalancing:us-west-2:\d{{12}}:listener/app/{NAME}/{NAME}/{NAME}"
    ),
}


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


@pytest.fixture(scope="module")
def arn_pairs() -> list[tuple[str, str, str]]:
    """(path, original ARN, redacted ARN) of every wafv2, logs and ELB listener ARN of the TrailDiscover records'
    report, resources and policies alike."""
    report = analysed([FileSource(TRAILDISCOVER)], options=Options(service="all"))
    redacted = redact_report(report, KEY)
    pairs = []
    for (path, before), (_, after) in zip(_strings(report), _strings(redacted), strict=True):
        for original, changed in zip(ARN.findall(before), ARN.findall(after), strict=True):
            service = original.split(":")[2]
            if service in SHAPES and (service != "elasticloadbalancing" or ":listener/" in original):
                pairs.append((path, original, changed))
    return pairs


def test_the_records_hold_such_arns_in_resources_and_policies(arn_pairs):
    services = {original.split(":")[2] for _, original, _ in arn_pairs}
    assert services == set(SHAPES)
    assert any(".remedy.policy.Statement" in path for path, _, _ in arn_pairs)
    assert any(".resources[" in path for path, _, _ in arn_pairs)


def test_a_redacted_arn_keeps_its_resource_types_words(arn_pairs):
    wrong = [(o, c) for _, o, c in arn_pairs if not SHAPES[o.split(":")[2]].fullmatch(c)]
    assert wrong[:5] == []


def test_an_arn_of_no_known_format_is_redacted_part_by_part():
    """The fallback: a service the catalog does not know keeps its resource type and loses every name after it."""
    record = f.record(
        error_message="User: arn:aws:iam::111122223333:user/dev-alice is not authorized to perform: "
        "apprunner:DescribeService on resource: arn:aws:madeup:us-east-1:111122223333:widget/team-a/blue-42"
    )
    redacted = json.dumps(redact_report(report_of([record]), KEY))
    assert re.search(rf"arn:aws:madeup:us-east-1:\d{{12}}:widget/{NAME}/{NAME}", redacted)
    assert "team-a" not in redacted and "blue-42" not in redacted


def test_a_name_quoted_inside_an_arn_is_replaced_and_keeps_its_quotes():
    record = f.record(
        error_message="User: arn:aws:iam::111122223333:user/dev-alice is not authorized to perform: "
        'apprunner:DescribeService on resource: arn:aws:ssm:us-east-1:111122223333:managed-instance/"mi-0abc123" '
        "because no identity-based policy allows the apprunner:DescribeService action"
    )
    redacted = json.dumps(redact_report(report_of([record]), KEY))
    assert "mi-0abc123" not in redacted
    assert re.search(rf'managed-instance/\\"{NAME}\\"', redacted)


def test_an_action_in_a_sentence_stays_where_a_role_is_named_like_it():
    """A role named ListServices, from another account: the note that apprunner:ListServices takes no resource keeps
    the action, the role's name goes everywhere it names the role."""
    role = f.assumed_role("ListServices", "ci", account="444455556666")
    records = [
        f.record(name, identity=role, recipient="111122223333", event_id=name)
        for name in ("ListServices", "DescribeService")
    ]
    report = report_of(records)
    [original] = [n for n in report["findings"][0]["remedy"]["notes"] if "takes no resource" in n]
    assert original.startswith("apprunner:ListServices takes no resource"), "the premise"
    [finding] = redact_report(report, KEY)["findings"]
    [note] = [n for n in finding["remedy"]["notes"] if "takes no resource" in n]
    assert note.startswith("apprunner:ListServices takes no resource")
    assert [a["action"] for a in finding["actions"]] == ["apprunner:DescribeService", "apprunner:ListServices"]
    assert re.fullmatch(rf"arn:aws:iam::\d{{12}}:role/{NAME}", finding["principal"]["arn"])
    assert not re.search(r"role/ListServices|role-name ListServices", json.dumps(finding))


def test_a_word_like_an_action_that_is_none_is_still_redacted():
    """Only actions the catalog knows are kept: apprunner:Deployer is a role's name after a service's prefix."""
    role = f.assumed_role("Deployer", "ci")
    record = f.record(identity=role, error_message="not authorized: apprunner:Deployer tried apprunner:DescribeService")
    redacted = json.dumps(redact_report(report_of([record]), KEY))
    assert "Deployer" not in redacted
