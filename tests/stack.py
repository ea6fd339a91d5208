"""The SAM template, expanded as CloudFormation would (aws-sam-translator), without Docker or AWS."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
CODE_BUCKET = "sam-artifacts"
FUNCTIONS = {"DailyReportFunction": "daily_report", "DenialAlertFunction": "denial_alert"}


def source_template() -> dict[str, Any]:
    """template.yaml as a dict (short-form intrinsics such as !Ref become their long forms)."""
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(TEMPLATE.read_text())


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs; the template names none, so none is needed."""

    def load(self) -> dict[str, str]:
        return {}


def expanded_template(parameters: dict[str, str] | None = None, region: str = "us-east-1") -> dict[str, Any]:
    """The template after the SAM transform, with each function's code at s3://CODE_BUCKET/<Function>.zip."""
    from samtranslator.translator.transform import transform

    template = copy.deepcopy(source_template())
    for name, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{CODE_BUCKET}/{name}.zip"
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        return transform(template, parameters or {}, _NoManagedPolicies())
    finally:
        if previous is None:
            os.environ.pop("AWS_DEFAULT_REGION", None)
        else:
            os.environ["AWS_DEFAULT_REGION"] = previous


def dumps(template: dict[str, Any]) -> str:
    return json.dumps(template, indent=1, default=str)
