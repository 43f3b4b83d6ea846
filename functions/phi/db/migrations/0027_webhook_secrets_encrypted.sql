-- Organisations' webhook signing secrets are kept encrypted with KMS (phi.secrets: the settings' secrets key, the
-- organisation's id in the encryption context), no longer as plain text. A secret stored before keeps working from
-- its plain text until it is rotated, which replaces it with a ciphertext; exactly one of the two is set.
-- depends: 0026_login_failures_by_address

ALTER TABLE org_webhook_secrets ADD COLUMN secret_ciphertext bytea;
ALTER TABLE org_webhook_secrets ALTER COLUMN secret DROP NOT NULL;
ALTER TABLE org_webhook_secrets ADD CONSTRAINT org_webhook_secrets_one_form
    CHECK ((secret IS NULL) <> (secret_ciphertext IS NULL));
