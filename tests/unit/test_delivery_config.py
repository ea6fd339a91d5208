"""The delivery settings: read once from the environment, explicit arguments winning, bad values named."""

from __future__ import annotations

import pytest

from analysis.config import DELIVERY_ENV, ConfigError, DeliveryConfig

TOPIC = "arn:aws:sns:us-east-1:111122223333:access-reports"


def test_from_environment_with_explicit_arguments_winning():
    env = {
        "REPORT_BUCKET": "reports-bucket",
        "REPORT_EMAIL_FROM": "Reports <reports@example.com>",
        "REPORT_EMAIL_TO": "a@example.com, b@example.com",
        "REPORT_TOPIC_ARN": TOPIC,
        "REPORT_SEND_EMPTY": "no",
        "IDEMPOTENCY_TABLE": "delivery",
        "REPORT_EVENT_BUS": "default",
    }
    config = DeliveryConfig.from_env(env, bucket="other-bucket", send_empty=True)
    assert config.bucket == "other-bucket" and config.send_empty is True
    assert config.recipients == ("a@example.com", "b@example.com")
    assert config.email_enabled and config.sns_enabled and config.events_enabled
    assert config.idempotency_table == "delivery"


def test_nothing_configured_switches_every_channel_off():
    config = DeliveryConfig.from_env({})
    assert not (config.bucket or config.email_enabled or config.sns_enabled or config.events_enabled)
    assert config.send_empty is True and config.link_mode == "object"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REPORT_EMAIL_FROM": "reports@example.com"}, "REPORT_EMAIL_TO"),
        ({"REPORT_EMAIL_FROM": "reports@example.com", "REPORT_EMAIL_TO": "not-an-address"}, "REPORT_EMAIL_TO"),
        ({"REPORT_TOPIC_ARN": "my-topic"}, "REPORT_TOPIC_ARN"),
        ({"REPORT_BUCKET": "Bad_Bucket"}, "REPORT_BUCKET"),
        ({"REPORT_LINK_MODE": "public"}, "REPORT_LINK_MODE"),
        ({"REPORT_LINK_MODE": "presigned"}, "REPORT_LINK_MODE"),
        ({"REPORT_SEND_EMPTY": "maybe"}, "REPORT_SEND_EMPTY"),
        ({"REPORT_SNS_FORMAT": "html"}, "REPORT_SNS_FORMAT"),
        ({"REPORT_EVENT_SOURCE": "aws.apprunner"}, "REPORT_EVENT_SOURCE"),
        ({"REPORT_EMAIL_MAX_BYTES": "50000000"}, "REPORT_EMAIL_MAX_BYTES"),
        ({"REPORT_PREFIX": "/reports"}, "REPORT_PREFIX"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        DeliveryConfig.from_env(env)


def test_unknown_explicit_settings_are_refused():
    with pytest.raises(ConfigError, match="unknown"):
        DeliveryConfig.from_env({}, bucket_name="x")


def test_every_field_has_an_environment_variable():
    from dataclasses import fields

    assert {f.name for f in fields(DeliveryConfig)} == set(DELIVERY_ENV)
