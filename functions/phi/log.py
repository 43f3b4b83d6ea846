"""The one structured logger (Powertools) every layer writes to; handlers bind task ids onto it."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="phi")
