-- A failed log-in removes every failure that has left the limiter's window, not only its own email and
-- address's: failures for pairs never tried again (one client spraying many emails) stayed forever, so the table
-- grew with every distinct email tried. This index keeps that removal to the rows it deletes.
-- depends: 0021_document_chunk_pieces

CREATE INDEX login_attempts_attempted_at_idx ON login_attempts (attempted_at);
