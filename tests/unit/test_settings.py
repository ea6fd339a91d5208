"""Settings validated once: explicit arguments win over the environment, which wins over the defaults."""

from __future__ import annotations

import re

import pytest

from analysis.config import ConfigError
from analysis.settings import ENVIRONMENT, load_settings


def test_defaults_without_environment():
    settings = load_settings({})
    assert settings.service == "apprunner"
    assert settings.trusted_accounts == frozenset()
    assert (settings.recon_distinct_actions, settings.recon_window_minutes) == (10, 10)
    assert (settings.time_zone, settings.lookback_hours) == ("UTC", 48)
    assert settings.trail_source is None and settings.state_table is None and settings.redact is False


def test_the_environment_as_template_yaml_sets_it():
    env = {
        "TRAIL_SOURCE": "s3://org-trail/AWSLogs",
        "AUDITED_SERVICE": "AppRunner",
        "TRUSTED_ACCOUNTS": "111122223333, 444455556666",
        "ORG_ACCOUNTS": "",
        "ORG_ID": "o-a1b2c3d4e5",
        "RECON_ACTIONS": "12",
        "RECON_MINUTES": "5",
        "REPORT_TIME_ZONE": "Europe/Paris",
        "LOOKBACK_HOURS": "24",
        "STATE_TABLE": "auditor-StateTable-1",
        "LOOKUP_ORGANIZATION": "false",
        "REDACT": "true",
    }
    settings = load_settings(env)
    assert settings.trail_source == "s3://org-trail/AWSLogs"
    assert settings.service == "apprunner"
    assert settings.trusted_accounts == frozenset({"111122223333", "444455556666"})
    assert settings.organization_accounts == frozenset()
    assert settings.organization_id == "o-a1b2c3d4e5"
    assert (settings.recon_distinct_actions, settings.recon_window_minutes) == (12, 5)
    assert (settings.time_zone, settings.lookback_hours) == ("Europe/Paris", 24)
    assert settings.state_table == "auditor-StateTable-1"
    assert settings.redact is True and settings.lookup_organization is False


def test_the_alert_settings_default_to_the_issue_and_feed_the_alert_rules():
    from analysis.alerting.rules import RULE_NAMES, alert_rules

    # issue 9: retention 30 days, period 24 h; burst 10 denials in 5 minutes (rules.AlertRules' CIS note); all seven
    rules = alert_rules(load_settings({}))
    assert (rules.retention_days, rules.burst_denials, rules.burst_minutes, rules.period_hours) == (30, 10, 5, 24)
    assert rules.enabled == frozenset(RULE_NAMES) and len(RULE_NAMES) == 7
    env = {
        "ALERT_RETENTION_DAYS": "7",
        "ALERT_BURST_DENIALS": "20",
        "ALERT_BURST_MINUTES": "2",
        "ALERT_PERIOD_HOURS": "6",
        "ALERT_RULES": " Burst, root ",
    }
    rules = alert_rules(load_settings(env))
    assert (rules.retention_days, rules.burst_denials, rules.burst_minutes, rules.period_hours) == (7, 20, 2, 6)
    assert rules.enabled == frozenset({"burst", "root"})


def test_explicit_arguments_win_and_none_means_not_given():
    env = {"AUDITED_SERVICE": "ecs", "RECON_ACTIONS": "12", "TRUSTED_ACCOUNTS": "111122223333"}
    settings = load_settings(env, service="apprunner", recon_distinct_actions=None, trusted_accounts=frozenset())
    assert settings.service == "apprunner"
    assert settings.recon_distinct_actions == 12
    assert settings.trusted_accounts == frozenset(), "an explicit empty list is given"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("TRUSTED_ACCOUNTS", "1111", "trusted_accounts (TRUSTED_ACCOUNTS): not a 12-digit AWS account ID: 1111"),
        ("REPORT_TIME_ZONE", "Mars/Olympus", "time_zone (REPORT_TIME_ZONE): unknown time zone: 'Mars/Olympus'"),
        ("RECON_ACTIONS", "0", "recon_distinct_actions (RECON_ACTIONS)"),
        ("ORG_ID", "org-1", "organization_id (ORG_ID): not an organization id"),
        ("TRAIL_SOURCE", "ftp://x", "trail_source (TRAIL_SOURCE): not a source spec"),
        ("ALERT_TOPIC_ARN", "topic", "alert_topic_arn (ALERT_TOPIC_ARN): not an SNS topic ARN"),
        ("REDACT", "maybe", "redact (REDACT)"),
        ("REDACT_KEY", "k" * 31, "redact_key (REDACT_KEY): at least 32 characters"),
        ("ALERT_RULES", "burst,bursts", "alert_rules (ALERT_RULES): not an alert rule: bursts"),
        ("ALERT_PERIOD_HOURS", "0", "alert_period_hours (ALERT_PERIOD_HOURS)"),
        ("ALERT_SNS_FORMAT", "slack", "alert_sns_format (ALERT_SNS_FORMAT)"),
        ("ALERT_SUPPRESSIONS", "s3://B/k", "alert_suppressions (ALERT_SUPPRESSIONS): not an S3 object URI"),
        ("ALERT_SUPPRESSIONS", "ssm:/a b", "alert_suppressions (ALERT_SUPPRESSIONS): not an SSM parameter name"),
        (
            "ALERT_SECURITY_HUB_PRODUCT_ARN",
            "arn:aws:securityhub:us-east-1:111122223333:product/aws/guardduty",
            "alert_security_hub_product_arn (ALERT_SECURITY_HUB_PRODUCT_ARN): not the account's default product ARN",
        ),
    ],
)
def test_a_bad_value_is_named_with_its_variable(variable, value, named):
    with pytest.raises(ConfigError) as raised:
        load_settings({variable: value})
    assert named in str(raised.value)


def test_every_setting_has_one_variable_and_template_yaml_sets_those_the_functions_need():
    from tests.stack import source_template

    assert len(set(ENVIRONMENT.values())) == len(ENVIRONMENT)
    template = source_template()
    set_by_template = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for name in ("DailyReportFunction", "DenialAlertFunction"):
        set_by_template |= set(template["Resources"][name]["Properties"]["Environment"]["Variables"])
    unset = set(ENVIRONMENT.values()) - set_by_template
    assert unset == set(), unset


def test_the_redaction_key_is_read_kept_secret_and_blank_means_none():
    key = "0123456789abcdef0123456789abcdef"  # 32 characters, the least allowed
    settings = load_settings({"REDACT": "true", "REDACT_KEY": key})
    assert settings.redact_key is not None and settings.redact_key.get_secret_value() == key
    assert key not in repr(settings) and key not in str(settings)
    assert load_settings({"REDACT_KEY": "  "}).redact_key is None
    assert load_settings({}).redact_key is None


def test_a_short_redaction_key_is_refused_without_showing_it():
    with pytest.raises(ConfigError) as raised:
        load_settings({"REDACT_KEY": "hunter2-but-longer-than-twenty"})
    assert "hunter2" not in str(raised.value)


# ALERT_SUPPRESSIONS: one accepted set in the settings and in template.yaml's AlertSuppressions (review finding 15)
SUPPRESSION_LOCATIONS = [
    ("", True),
    ("s3://audit-config/alerts/suppressions.json", True),
    ("s3://audit-config/k/x.json?owner=111122223333", True),
    ("s3://my.bucket-1/a b/c.json", True),  # S3 keys may hold spaces
    ("s3://b/k", False),  # a bucket name is 3 to 63 characters
    ("s3://Audit-Config/k", False),  # no capitals in a bucket name
    ("s3://audit-config/", False),
    ("s3://audit-config/*", False),  # IAM wildcards in the key would widen the template's s3:GetObject grant
    ("s3://audit-config/alerts/?.json", False),
    ("s3://audit-config/${aws:username}.json", False),  # an IAM policy variable
    ("s3://audit-config/k?owner=1234", False),
    ("s3://audit-config/k?owner=111122223333&x=1", False),
    ("s3://audit-config/" + "k" * 1024, True),
    ("s3://audit-config/" + "k" * 1025, False),  # S3's key limit
    ("ssm:/a/b", True),
    ("ssm:/audit/suppressions-v2_prod.json", True),
    ("ssm:name", False),  # the template's grant is parameter/<name after ssm:/>: one form only
    ("ssm:/a b", False),
    ("ssm:/a//b", False),
    ("ssm:/a/", False),
    ("ssm:/a*", False),
    ("ssm:" + "/a" * 15, True),  # SSM: at most 15 levels
    ("ssm:" + "/a" * 16, False),
    ("ssm:/" + "a" * 1010, True),  # SSM: at most 1,011 characters (a bound: the ARN's prefix counts too)
    ("ssm:/" + "a" * 1011, False),
]


def _template_pattern() -> str:
    from tests.stack import source_template

    return source_template()["Parameters"]["AlertSuppressions"]["AllowedPattern"]


@pytest.mark.parametrize(("value", "accepted"), SUPPRESSION_LOCATIONS)
def test_the_settings_and_the_template_accept_the_same_suppression_locations(value, accepted):
    assert (re.fullmatch(_template_pattern(), value) is not None) is accepted
    try:
        load_settings({"ALERT_SUPPRESSIONS": value})
    except ConfigError:
        assert not accepted
    else:
        assert accepted


def test_the_templates_pattern_is_the_settings_own():
    from analysis.alerting.suppressions import S3_SPEC, SSM_SPEC

    assert _template_pattern() == f"^$|^{S3_SPEC}$|^{SSM_SPEC}$"


def test_a_local_file_is_any_other_value():
    assert load_settings({"ALERT_SUPPRESSIONS": "suppressions.json"}).alert_suppressions == "suppressions.json"
