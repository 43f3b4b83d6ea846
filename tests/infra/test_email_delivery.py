"""E-mail on AWS, on the real synthesized templates: dev (no emailSender) keeps e-mails in the outbox and grants
no SES action; prod (emailSender in the context) sends through SES, and Think (notify nodes) and the API
(invitations) — the only functions that send — may call ses:SendEmail only from that address, on the account's
identities (SES authorises a send against the From address's own identity when it is verified, and in the sandbox
against each recipient's: a policy on the sender's domain alone refuses those sends)."""

from __future__ import annotations

from typing import Any

import pytest

from infra_cdk.config import Handler, stage_config
from infra_cdk.synthesis import Synthesis
from tests.infra.test_template import actions_of, all_statements, as_list, function_role, phi_functions, role_statements

pytestmark = pytest.mark.infra


def _ses_statements(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in statements if any(str(a).startswith("ses:") for a in as_list(s["Action"]))]


SENDERS = (Handler.THINK, Handler.API)


def _environment(synthesis: Synthesis, handler: Handler) -> dict[str, Any]:
    _, properties = phi_functions(synthesis)[handler]
    environment: dict[str, Any] = properties["Environment"]["Variables"]
    return environment


def test_without_a_sender_emails_stay_in_the_outbox_and_no_ses_action_is_granted(dev: Synthesis) -> None:
    for handler in SENDERS:
        environment = _environment(dev, handler)
        assert environment["PHI_EMAIL_DELIVERY"] == "outbox" and "PHI_EMAIL_SENDER" not in environment
    assert _ses_statements(list(all_statements(dev))) == []
    assert dev.template_json["Outputs"]["EmailDelivery"]["Value"].startswith("outbox")


def test_with_a_sender_think_and_the_api_may_send_only_from_that_address(prod: Synthesis) -> None:
    for handler in SENDERS:
        environment = _environment(prod, handler)
        assert environment["PHI_EMAIL_DELIVERY"] == "ses"
        assert environment["PHI_EMAIL_SENDER"] == "Phi Alerts <alerts@example.com>"

        [statement] = _ses_statements(role_statements(prod, function_role(prod, handler)))
        assert statement["Effect"] == "Allow" and as_list(statement["Action"]) == ["ses:SendEmail"]
        [resource] = as_list(statement["Resource"])
        parts = resource["Fn::Join"][1]
        # every identity of this account and region (the domain's, the address's, a sandbox recipient's) ...
        assert parts[0] == "arn:" and parts[2] == ":ses:" and parts[-1] == ":identity/*"
        assert {"Ref": "AWS::Region"} in parts and {"Ref": "AWS::AccountId"} in parts
        # ... and only from the configured address: the condition pins the sender
        assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": "alerts@example.com"}}

    # no other function may send e-mail; nothing grants ses:*, on every resource, or without the sender's condition
    for handler in phi_functions(prod):
        if handler not in SENDERS:
            assert not {
                a for a in actions_of(role_statements(prod, function_role(prod, handler))) if a.startswith("ses:")
            }
    for ses in _ses_statements(list(all_statements(prod))):
        assert "ses:*" not in as_list(ses["Action"]) and "*" not in as_list(ses["Resource"])
        assert ses["Condition"]["StringEquals"]["ses:FromAddress"] == "alerts@example.com"
    assert prod.template_json["Outputs"]["EmailDelivery"]["Value"].startswith("ses from")


def test_the_identity_defaults_to_the_senders_domain_and_a_bad_sender_is_refused() -> None:
    def context(**values: str) -> Any:
        return lambda key: values.get(key)

    assert stage_config(context(emailSender="alerts@ops.example.com")).email_identity == "ops.example.com"
    assert stage_config(context(emailSender="a@ops.example.com", sesIdentity="a@ops.example.com")).email_identity == (
        "a@ops.example.com"
    )
    assert stage_config(context()).email_identity is None
    with pytest.raises(ValueError, match="emailSender must be an e-mail address"):
        stage_config(context(emailSender="ops.example.com"))
