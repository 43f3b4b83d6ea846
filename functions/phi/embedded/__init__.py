"""The embedded one-machine deployment (DESIGN §1): same handlers, same state machine file, local services."""
