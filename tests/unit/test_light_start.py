"""The report's start: a known ``--service`` is told without loading the IAM catalog, and a local source
imports no botocore before the run."""

import json
import subprocess
import sys

from policy_sentry.querying.all import get_all_service_prefixes

from analysis import catalog

PROBE = """
import json, sys
from analysis import cli
cli._check_service({service!r}, given=True)
cli._check_aws({{}}, deliver=False, organization=False)
print(json.dumps(sorted(m for m in ("policy_sentry.shared.iam_data", "botocore") if m in sys.modules)))
"""


def loaded_after_checks(service: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(service=service)], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_the_prefixes_read_without_the_catalog_are_the_catalogs():
    assert catalog.service_prefixes() == frozenset(get_all_service_prefixes())
    assert {"apprunner", "s3", "ec2", "cloudwatch"} <= catalog.service_prefixes()


def test_a_known_service_and_a_local_source_load_neither_the_catalog_nor_botocore():
    assert loaded_after_checks("apprunner") == []


def test_a_label_the_catalog_maps_is_still_checked_by_the_catalog():
    assert "monitoring" not in catalog.service_prefixes()
    assert loaded_after_checks("monitoring") == ["policy_sentry.shared.iam_data"]
