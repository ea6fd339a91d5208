"""AWS errors said in words, in one line: what happened, and the AWS error code where there is one (never a Python
class name: ``EndpointConnectionError: …`` means nothing to whoever reads the warning)."""

from __future__ import annotations


def describe_error(error: BaseException) -> str:
    """``error`` in one line: an AWS refusal with its code, a connection or timeout with its endpoint, else the
    message (with the exception's name only for what is no AWS error: a bug to report)."""
    from botocore import exceptions as aws

    if isinstance(error, aws.ClientError):
        details = error.response.get("Error", {})
        code, message = details.get("Code") or "an error", details.get("Message") or ""
        return f"AWS refused {error.operation_name} ({code}){': ' + message if message else ''}"
    if isinstance(error, aws.EndpointConnectionError | aws.ConnectTimeoutError):
        return f"could not connect to {error.kwargs.get('endpoint_url')} (network, proxy or AWS_ENDPOINT_URL?)"
    if isinstance(error, aws.ReadTimeoutError):
        return f"AWS did not answer in time ({error.kwargs.get('endpoint_url')})"
    if isinstance(error, aws.BotoCoreError):
        return str(error)  # botocore's own messages are sentences
    return f"{type(error).__name__}: {error}"
