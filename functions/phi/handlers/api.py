"""The REST API Lambda: the FastAPI app through Mangum."""

from __future__ import annotations

from mangum import Mangum

from phi.api.app import create_app

handler = Mangum(create_app(), lifespan="off")
