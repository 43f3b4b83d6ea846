"""The one structured logger (Powertools) every layer writes to; handlers bind task ids onto it."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger()  # service name from POWERTOOLS_SERVICE_NAME (one per function, set by CDK)
