"""AWS access: short-lived credentials vended by the Phi API for the agent key, refreshed before expiry.

Without an agent key the agent falls back to boto3's default credential chain ("ambient" mode), which
is meant for development and tests only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import CredentialRetrievalError
from pydantic import BaseModel, ConfigDict, ValidationError

from phi_agent.api import ApiClient, ApiError, KeyRefusal
from phi_agent.config import AgentConfig
from phi_agent.logs import log_fields

logger = logging.getLogger(__name__)
CREDENTIALS_PATH = "/local-agents/credentials"


class VendedCredentials(BaseModel):
    model_config = ConfigDict(extra="ignore")

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    region: str | None = None
    queue_url: str | None = None
    aws_endpoint_url: str | None = None

    def as_botocore_metadata(self) -> dict[str, Any]:
        return {
            "access_key": self.access_key_id,
            "secret_key": self.secret_access_key,
            "token": self.session_token,
            "expiry_time": self.expiration.isoformat(),
        }


# The API vends 15-minute sessions (the shortest STS grants), so that a revoked or disabled key stops
# working soon. botocore refreshes when the advisory window opens (and blocks for it once the mandatory one
# does); both are set from each credential's lifetime: a third and a sixth of it, at most 5 and 2 minutes.
# A 15-minute session is renewed after 10 minutes; nothing is ever signed with expired credentials.
_ADVISORY_MAX_SECONDS = 5 * 60
_MANDATORY_MAX_SECONDS = 2 * 60


def refresh_windows(lifetime_seconds: float) -> tuple[float, float]:
    """(advisory, mandatory) refresh windows, in seconds before expiry, for credentials of this lifetime."""
    lifetime = max(lifetime_seconds, 0.0)
    return min(_ADVISORY_MAX_SECONDS, lifetime / 3), min(_MANDATORY_MAX_SECONDS, lifetime / 6)


class _VendedRefreshable(RefreshableCredentials):
    def set_windows(self, lifetime_seconds: float) -> None:
        # botocore reads these per instance (class defaults: 15 and 10 minutes, longer than our sessions).
        self._advisory_refresh_timeout, self._mandatory_refresh_timeout = refresh_windows(lifetime_seconds)


class CredentialVendor:
    def __init__(
        self,
        api: ApiClient,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        refusal: KeyRefusal | None = None,
    ) -> None:
        self._api = api
        self._clock = clock
        self._refusal = refusal

    def fetch(self) -> VendedCredentials:
        payload = self._api.post(CREDENTIALS_PATH, {})
        try:
            credentials = VendedCredentials.model_validate(payload)
        except ValidationError as error:
            raise ApiError(None, "bad_response", f"credentials answer is not usable: {error}") from None
        if credentials.expiration.tzinfo is None:
            raise ApiError(None, "bad_response", "credentials answer is not usable: expiration has no time zone")
        logger.info("received AWS credentials", extra=log_fields(expires=credentials.expiration.isoformat()))
        return credentials

    def refreshable(self) -> RefreshableCredentials:
        first = self.fetch()
        refreshable = _VendedRefreshable(
            access_key=first.access_key_id,
            secret_key=first.secret_access_key,
            token=first.session_token,
            expiry_time=first.expiration,
            refresh_using=lambda: self._refresh(refreshable),
            method="phi-agent-vended",
            time_fetcher=self._clock,
        )
        refreshable.set_windows(self._lifetime(first))
        return refreshable

    def _refresh(self, refreshable: _VendedRefreshable) -> dict[str, Any]:
        try:
            fresh = self.fetch()
        except ApiError as error:
            if self._refusal is not None:
                self._refusal.note(error)
            # botocore re-raises a failed refresh once the current credentials are about to expire: as its
            # own error type, so that the AWS calls' error handling (which logs and backs off) covers it.
            raise CredentialRetrievalError(provider="phi-agent-vended", error_msg=str(error)) from error
        refreshable.set_windows(self._lifetime(fresh))
        return fresh.as_botocore_metadata()

    def _lifetime(self, credentials: VendedCredentials) -> float:
        return (credentials.expiration - self._clock()).total_seconds()


def aws_session(config: AgentConfig, vendor: CredentialVendor | None) -> boto3.Session:
    if vendor is None:
        logger.warning(
            "PHI_AGENT_KEY is not set: using the default AWS credential chain and skipping heartbeats "
            "(development mode; production agents must set PHI_AGENT_KEY)"
        )
        return boto3.Session(region_name=config.cloud.region)
    core = botocore.session.get_session()
    core._credentials = vendor.refreshable()  # type: ignore[attr-defined]  # botocore has no public setter
    return boto3.Session(botocore_session=core, region_name=config.cloud.region)


@dataclass(frozen=True)
class AwsClients:
    sqs: Any
    sfn: Any


def aws_clients(session: boto3.Session, config: AgentConfig) -> AwsClients:
    client_config = Config(
        retries={"max_attempts": 5, "mode": "standard"},
        connect_timeout=5,
        # A long poll holds the connection open for wait_time_seconds.
        read_timeout=config.local.wait_time_seconds + 15,
        max_pool_connections=config.local.concurrency * 3 + 4,
    )
    endpoint = config.cloud.aws_endpoint_url or None
    return AwsClients(
        sqs=session.client("sqs", endpoint_url=endpoint, config=client_config),
        sfn=session.client("stepfunctions", endpoint_url=endpoint, config=client_config),
    )
