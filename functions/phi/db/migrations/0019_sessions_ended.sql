-- Logging out ends the user's sessions: access tokens (JWTs, otherwise valid until they expire) issued before
-- that moment are refused from then on, so a copied console cookie or bearer token dies with the log-out.
-- depends: 0018_llm_calls_and_budgets

ALTER TABLE users ADD COLUMN sessions_ended_at timestamptz;
