"""S3 object-created events (through the ingest SQS queue) → text, chunks, embeddings → READY or FAILED.

Partial batch failures: a transient error fails only its own message, which SQS retries and finally moves to
the dead-letter queue; bad input never retries (the document is FAILED with the reason)."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.documents.pipeline import ingest_s3_object
from phi.handlers.observability import logger, tracer
from phi.names import Service
from phi.settings import settings_for

settings_for(Service.INGEST)  # a missing variable fails the cold start, naming it

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    body = json.loads(record.body)
    for s3_record in body.get("Records", []):  # S3's one-off s3:TestEvent has none
        outcome = ingest_s3_object(s3_record["s3"]["bucket"]["name"], s3_record["s3"]["object"]["key"])
        logger.info("document ingested", extra=outcome)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
