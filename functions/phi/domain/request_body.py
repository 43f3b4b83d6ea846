"""The base of every model the API reads a JSON request body into."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    """A body a client sends: a field the model does not declare is refused (422, naming the field) instead of
    dropped. Dropped, a misspelt optional field (`inputs` for `input`) ran the request with that field's default
    and answered success. Models that read stored data or catalogue rows keep pydantic's default (ignore): a row
    written with a field a later version no longer declares must still load."""

    model_config = ConfigDict(extra="forbid")
