"""The permissions the README lists for the auditor itself exist, as spelled, in the IAM catalog."""

import json
from importlib import resources
from pathlib import Path

from analysis import catalog

TABLE = json.loads(resources.files("analysis.data").joinpath("auditor_permissions.json").read_text())
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_listed_action_is_in_the_catalog():
    actions = {a for listed in TABLE["features"].values() for a in listed}
    assert actions
    assert {a for a in actions if catalog.canonical_action(a) != a} == set()


def test_the_readme_lists_them():
    for feature, actions in TABLE["features"].items():
        assert feature in README, feature
        for action in actions:
            assert action in README, action
