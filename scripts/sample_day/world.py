"""The sample organization: its day, accounts, App Runner services, named ARNs and the clients people use."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

from .identities import sso_role_name

SEED = 20261128
DAY = datetime(2026, 11, 28, tzinfo=UTC)  # the bundled day; other days are passed to engine.Day
SLOT = timedelta(minutes=5)
US_EAST = "us-east-1"

ORG_ID = "o-a1b2c3d4e5"
PROD = "111122223333"  # owns App Runner services web, api (us-east-1) and worker (eu-west-1)
STAGING = "444455556666"  # owns web-staging (us-east-1)
CI = "777788889999"  # CI/tools: GitHub OIDC role GitHubActionsDeploy, legacy user svc-legacy
SECURITY = "210987654321"  # management + security: Organizations, Identity Center, trail bucket
OUTSIDE = "999988887777"  # not in the organization, not trusted
PARTNER = "123456789012"  # trusted partner, not in the organization

IDENTITY_STORE_ARN = f"arn:aws:identitystore::{SECURITY}:identitystore/d-9067a1b2c3"
TRAIL_BUCKET = f"aws-cloudtrail-logs-{SECURITY}-org"
SCP_ARN = f"arn:aws:organizations::{SECURITY}:policy/{ORG_ID}/service_control_policy/p-regionlock1"
DENY_POLICY_ARN = f"arn:aws:iam::{PROD}:policy/DenyDestructiveAppRunner"
INSTANCE_ROLE_ARN = f"arn:aws:iam::{PROD}:role/AppRunnerInstanceRole"
ECR_ACCESS_ROLE_ARN = f"arn:aws:iam::{PROD}:role/service-role/AppRunnerECRAccessRole"
SSO_DEVELOPER_ROLE = sso_role_name("Developer_Access", "0a1b2c3d4e5f6789")
SSO_ADMIN_ROLE = sso_role_name("AdministratorAccess", "5c1e7a9b3d2f4e60")
SSO_SECURITY_ROLE = sso_role_name("SecurityAudit", "9f8e7d6c5b4a3210")
SSO_SUPPORT_ROLE = sso_role_name("SupportEngineer", "1a2b3c4d5e6f7a8b")
GITHUB_OIDC = f"arn:aws:iam::{CI}:oidc-provider/token.actions.githubusercontent.com"
SAML_QUALIFIER = "xQ7pV2mK9rT4wZ8yB3nC6dF1gH0="
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN"

# name -> (owner account, region, service id assigned by AWS)
APP_SERVICES: dict[str, tuple[str, str, str]] = {
    "web": (PROD, US_EAST, "8fe1e10304f84fd2b0df550fe98a71fa"),
    "api": (PROD, US_EAST, "2c5b7e09a4d34f1e8b6a90c3d7f5e214"),
    "worker": (PROD, "eu-west-1", "d93a0f6c21be4c7a95e8f04b6a1c3d58"),
    "web-staging": (STAGING, US_EAST, "6e1f9b3a0c8d47e2a5b4c7d9e0f1a236"),
}
DELETED_SERVICE_ARN = f"arn:aws:apprunner:us-east-1:{PROD}:service/web-old/0b7d1c9e4a2f48d6b3e5a7c9d1f3b5e7"

# User agents; "{cmd}" is replaced by the CLI command (e.g. "apprunner.describe-service").
CLI_MAC = (
    "aws-cli/2.22.9 md/awscrt#0.23.4 ua/2.1 os/macos#24.1.0 md/arch#arm64 lang/python#3.12.7 "
    "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{cmd}"
)
CLI_LINUX = (
    "aws-cli/2.22.9 md/awscrt#0.23.4 ua/2.1 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.12.7 "
    "md/pyimpl#CPython exec-env/GitHubActions cfg/retry-mode#standard md/installer#exe "
    "md/distrib#ubuntu.24 md/prompt#off md/command#{cmd}"
)
CLI_OLD = "aws-cli/1.29.62 Python/3.9.18 Linux/5.10.228-219.884.amzn2.x86_64 botocore/1.31.62"
BOTO_LAMBDA = (
    "Boto3/1.35.60 md/Botocore#1.35.60 ua/2.0 os/linux#5.10.228-219.884.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.12.7 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy "
    "Botocore/1.35.60"
)
BOTO = BOTO_LAMBDA.replace("exec-env/AWS_Lambda_python3.12 ", "")
GO_SDK = "aws-sdk-go-v2/1.32.5 ua/2.1 os/linux lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64"
JS_ACTION = "aws-sdk-js/3.699.0 ua/2.1 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.18.0 api/sts#3.699.0"
CONSOLE = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
CONSOLE_WIN = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
TERRAFORM = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.78.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.32.5 ua/2.1 os/linux "
    "lang/go#1.23.3 md/GOOS#linux md/GOARCH#amd64 api/apprunner#1.32.6"
)
JENKINS = (
    "aws-sdk-java/1.12.780 Linux/5.15.0-1071-aws OpenJDK_64-Bit_Server_VM/17.0.13+11 java/17.0.13 "
    "vendor/Eclipse_Adoptium cfg/retry-mode/standard"
)
PYTHON_REQUESTS = "python-requests/2.31"
SSM_AGENT = "aws-sdk-go/1.55.5 (go1.22.8; linux; amd64) amazon-ssm-agent/3.3.1142.0"

Clock = tuple[int, int, int]


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expiry(when: datetime) -> str:
    """STS writes credential expiry as e.g. "Nov 28, 2026, 10:50:02 AM"."""
    hour = when.hour % 12 or 12
    return f"{when:%b} {when.day}, {when.year}, {hour}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


def stable(prefix: str, key: str, length: int) -> str:
    """An AWS-looking identifier (AIDA…, AROA…, AKIA…) that depends only on ``key``."""
    return prefix + base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()[:length]


def service_arn(name: str) -> str:
    account, region, service_id = APP_SERVICES[name]
    return f"arn:aws:apprunner:{region}:{account}:service/{name}/{service_id}"
