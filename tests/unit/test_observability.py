"""The handlers' Powertools logger never writes an access key ID, wherever it appears in a log line."""

from __future__ import annotations

import io
import json

from aws_lambda_powertools import Logger

from analysis.observability import SecretMaskingFormatter

KEY = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key ID


def test_access_keys_are_masked_in_messages_and_extra_fields():
    stream = io.StringIO()
    logger = Logger(service="test", logger_formatter=SecretMaskingFormatter(), logger_handler=None, stream=stream)
    logger.info(f"record from {KEY}", extra={"record": {"userIdentity": {"accessKeyId": "ASIAY34FZKBOKMUTVV7A"}}})
    line = json.loads(stream.getvalue())
    assert line["message"] == "record from AKIA************"
    assert line["record"]["userIdentity"]["accessKeyId"] == "ASIA************"
    assert KEY not in stream.getvalue() and "ASIAY34FZKBOKMUTVV7A" not in stream.getvalue()
