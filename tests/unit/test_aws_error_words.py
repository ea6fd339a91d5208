"""AWS errors are said in words (issue 11): what happened and the AWS error code, never a Python class name; an
AWS_PROFILE that names no profile says how to list them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from analysis import cli
from analysis.pipeline import collect
from analysis.sources.base import SourceError

pytestmark = pytest.mark.unit


class _Failing:
    def __init__(self, error: Exception) -> None:
        self.name = "lookup:us-east-1"
        self.error = error

    def read(self) -> Iterator[Any]:
        raise self.error
        yield  # a generator, as sources are


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "LookupEvents"),
            "AWS refused LookupEvents (AccessDeniedException): not authorized",
        ),
        (
            EndpointConnectionError(endpoint_url="https://cloudtrail.us-east-1.amazonaws.com/"),
            "could not connect to https://cloudtrail.us-east-1.amazonaws.com/ (network, proxy or AWS_ENDPOINT_URL?)",
        ),
        (SourceError("us-east-1: the region is not enabled"), "us-east-1: the region is not enabled"),
    ],
)
def test_a_failed_source_s_error_is_said_in_words(error, said):
    _, [status] = collect([_Failing(error)])
    assert status.status == "failed" and status.error == said


def test_an_unknown_aws_profile_says_how_to_list_the_profiles(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    Path(tmp_path / "config").write_text("[profile audit]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_PROFILE", "nope")
    assert cli.main(["report", "--source", "lookup:us-east-1"]) == cli.EXIT_USAGE
    lines = capsys.readouterr().err.splitlines()
    assert (
        len(lines) == 1
        and "(nope)" in lines[0]
        and lines[0].endswith("`aws configure list-profiles`, or unset AWS_PROFILE")
    )
