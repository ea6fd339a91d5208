"""apprunner-audit: App Runner AccessDenied events from CloudTrail, grouped, with least-privilege fixes."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """``analysis.__version__``, looked up when asked: importing importlib.metadata costs every start some 35 ms
    (``--help``, each Lambda cold start), and the version is rarely wanted."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("apprunner-access-auditor")
    except PackageNotFoundError:  # run from a source tree never installed (the Lambda artefact copies the folder)
        return "0+unknown"
