"""Ingest: object-created notifications -> SQS (with a DLQ) -> the ingest Lambda, partial batch failures."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra_cdk import grants
from infra_cdk.config import DOCUMENTS_PREFIX, Handler, StageConfig
from infra_cdk.lambdas import FunctionSpec, PhiFunctions
from infra_cdk.nag import Suppression, arn_of, suppress
from infra_cdk.storage import Storage

INGEST = FunctionSpec(
    handler=Handler.INGEST,
    description="Extracts, chunks and embeds uploaded documents",
    memory_mb=1024,
    timeout_seconds=300,
)
BATCH_SIZE = 5
# Keeps a burst of uploads from opening more database connections than the proxy likes.
MAX_CONCURRENCY = 5
MAX_RECEIVE_COUNT = 3


class Ingest(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        storage: Storage,
        functions: PhiFunctions,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            queue_name=config.ingest_dlq_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=config.ingest_queue_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # AWS guidance for Lambda event sources: at least six times the function timeout.
            visibility_timeout=Duration.seconds(6 * INGEST.timeout_seconds),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT),
        )
        storage.bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.SqsDestination(self.queue),
            s3.NotificationKeyFilter(prefix=DOCUMENTS_PREFIX),
        )
        self.function: lambda_.Function = functions.create(self, INGEST)
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=MAX_CONCURRENCY,
            )
        )
        # The version measured is the version read; a document refused for its size is removed, that version of
        # it (phi.documents.pipeline).
        grants.objects(
            self.function,
            storage.bucket,
            storage.key,
            actions=["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            prefixes=[DOCUMENTS_PREFIX],
        )
        suppress(
            self.dead_letter_queue,
            [Suppression(rule="AwsSolutions-SQS3", reason="This queue is the dead-letter queue.")],
        )
        suppress(
            self.function,
            [
                Suppression(
                    rule="AwsSolutions-IAM5",
                    reason="Reads any uploaded document: object keys under documents/ are not known in advance.",
                    findings=[arn_of(storage.bucket, f"/{DOCUMENTS_PREFIX}*")],
                )
            ],
        )
