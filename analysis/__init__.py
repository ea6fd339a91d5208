"""apprunner-audit: App Runner AccessDenied events from CloudTrail, grouped, with least-privilege fixes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("apprunner-access-auditor")
except PackageNotFoundError:  # run from a source tree that was never installed (the Lambda artefact copies the folder)
    __version__ = "0+unknown"
