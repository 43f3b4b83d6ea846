"""Settings for notify nodes, validated at cold start: SES delivery needs a sender, a sender must be an address."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from phi import names
from phi.settings import MissingSettingError, Settings, requirements_for


def _settings(**values: object) -> Settings:
    return Settings(database_url="postgresql://x", documents_bucket="b", secrets_key_arn="k", **values)  # type: ignore[arg-type]


def test_ses_delivery_needs_a_sender_in_think_and_the_api_only() -> None:
    ses = _settings(email_delivery="ses")
    for sending in (names.Service.THINK, names.Service.API):  # notify nodes; invitations
        with pytest.raises(MissingSettingError, match="PHI_EMAIL_SENDER"):
            ses.require(requirements_for(sending, ses))
    ses.require(requirements_for(names.Service.FINISH_TASK, ses))  # other functions never send
    sender = _settings(email_delivery="ses", email_sender="Phi Alerts <alerts@example.com>")
    sender.require(requirements_for(names.Service.THINK, sender))
    outbox = _settings()
    assert outbox.email_delivery == "outbox"  # the default: nothing is ever sent
    outbox.require(requirements_for(names.Service.THINK, outbox))


def test_a_sender_that_is_not_an_address_is_refused() -> None:
    with pytest.raises(ValidationError, match="PHI_EMAIL_SENDER must be an e-mail address"):
        _settings(email_sender="alerts")
    with pytest.raises(ValidationError):
        _settings(email_delivery="smtp")
    with pytest.raises(ValidationError):
        _settings(outbound_timeout_seconds=600)
