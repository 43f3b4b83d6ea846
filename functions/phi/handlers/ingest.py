"""S3 object-created events (through the ingest SQS queue) → text, chunks, embeddings → READY or FAILED.

Partial batch failures: a transient error fails only its own message, which SQS retries and finally moves to
the dead-letter queue; bad input never retries (the document is FAILED with the reason). The documents of a batch
share this run's time: one that the run has no time left to start or finish fails only its own message, so it is
retried in a later run instead of timing out the whole batch."""

from __future__ import annotations

import json
import time
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from phi.documents.pipeline import ingest_s3_object
from phi.handlers.observability import logger, tracer
from phi.names import Service
from phi.settings import get_settings, settings_for

settings_for(Service.INGEST)  # a missing variable fails the cold start, naming it

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    must_finish_by = run_deadline(lambda_context) if lambda_context is not None else None
    body = json.loads(record.body)
    for s3_record in body.get("Records", []):  # S3's one-off s3:TestEvent has none
        bucket, key = s3_record["s3"]["bucket"]["name"], s3_record["s3"]["object"]["key"]
        outcome = ingest_s3_object(bucket, key, must_finish_by=must_finish_by)
        logger.info("document ingested", extra=outcome)


def run_deadline(context: LambdaContext) -> float:
    """The time.monotonic() by which a document's reading must stop for this run to end on its own terms."""
    remaining = context.get_remaining_time_in_millis() / 1000
    return time.monotonic() + remaining - get_settings().ingest_reserve_seconds


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
