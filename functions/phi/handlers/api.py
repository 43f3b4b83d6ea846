"""The REST API Lambda: the FastAPI app through Mangum."""

from __future__ import annotations

from mangum import Mangum

from phi.api.app import create_app
from phi.api.stage_root import StageRootPath
from phi.names import Service
from phi.settings import settings_for

settings_for(Service.API)  # a missing variable fails the cold start, naming it

handler = Mangum(StageRootPath(create_app()), lifespan="off")
