//! The table's change stream as Lambda hands it over (DynamoDB Streams batches): each record
//! read as a [`Change`], and the partial batch response that names the records to retry.

use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::model::Change;
use crate::model::StoreError;
use crate::store::read_change;

pub use aws_lambda_events::event::dynamodb::{Event as Batch, EventRecord as Record};

/// What one stream record says changed (`None` for items no consumer acts on).
pub fn change_of(record: &EventRecord) -> Result<Option<Change>, StoreError> {
    let image = |i: &serde_dynamo::Item| (!i.is_empty()).then(|| i.clone());
    read_change(
        image(&record.change.old_image),
        image(&record.change.new_image),
    )
}

/// When the change was made (unix seconds).
pub fn changed_at(record: &EventRecord) -> i64 {
    record.change.approximate_creation_date_time.timestamp()
}

/// The partial batch response naming `failed`: the stream retries from the earliest of them
/// (ReportBatchItemFailures), and nothing before it is delivered again.
pub fn retry<'a>(failed: impl IntoIterator<Item = &'a EventRecord>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|r| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = r.change.sequence_number.clone();
            failure
        })
        .collect();
    response
}

/// The local stand-in for Lambda's event source mapping: reads a table's change stream
/// (DynamoDB Streams on the local AWS stand-in) as the batches Lambda would hand a consumer.
#[cfg(feature = "local")]
pub mod local {
    use std::collections::HashMap;

    use aws_lambda_events::event::dynamodb::EventRecord;
    use aws_sdk_dynamodbstreams::Client;
    use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};

    type Error = Box<dyn std::error::Error + Send + Sync>;

    /// Every shard of one stream, read from its start.
    pub struct StreamReader {
        client: Client,
        arn: String,
        /// Shard id → the iterator to read next (`None` once the shard is closed and read).
        shards: HashMap<String, Option<String>>,
    }

    impl StreamReader {
        /// The stream of `table` (created with one by `table::create`), from its first record.
        pub async fn open(
            config: &aws_config::SdkConfig,
            dynamodb: &aws_sdk_dynamodb::Client,
            table: &str,
        ) -> Result<Self, Error> {
            let described = dynamodb.describe_table().table_name(table).send().await?;
            let arn = described
                .table()
                .and_then(|t| t.latest_stream_arn())
                .ok_or_else(|| format!("{table} has no change stream"))?
                .to_owned();
            Ok(Self {
                client: Client::new(config),
                arn,
                shards: HashMap::new(),
            })
        }

        /// The records written since the last call (at most `limit` per shard), oldest first.
        pub async fn next(&mut self, limit: i32) -> Result<Vec<EventRecord>, Error> {
            let stream = self
                .client
                .describe_stream()
                .stream_arn(&self.arn)
                .send()
                .await?;
            for shard in stream
                .stream_description()
                .map(|d| d.shards())
                .unwrap_or_default()
            {
                let Some(id) = shard.shard_id() else { continue };
                if self.shards.contains_key(id) {
                    continue;
                }
                let iterator = self
                    .client
                    .get_shard_iterator()
                    .stream_arn(&self.arn)
                    .shard_id(id)
                    .shard_iterator_type(ShardIteratorType::TrimHorizon)
                    .send()
                    .await?
                    .shard_iterator;
                self.shards.insert(id.to_owned(), iterator);
            }
            let mut records = Vec::new();
            for iterator in self.shards.values_mut() {
                let Some(current) = iterator.clone() else {
                    continue;
                };
                let out = self
                    .client
                    .get_records()
                    .shard_iterator(current)
                    .limit(limit)
                    .send()
                    .await?;
                *iterator = out.next_shard_iterator().map(str::to_owned);
                for r in out.records() {
                    records.push(event_record(r, &self.arn)?);
                }
            }
            records.sort_by(|a, b| a.change.sequence_number.cmp(&b.change.sequence_number));
            Ok(records)
        }
    }

    /// A stream record as Lambda hands it to a function.
    fn event_record(r: &Record, arn: &str) -> Result<EventRecord, Error> {
        let change = r.dynamodb().ok_or("a stream record without its change")?;
        let image = |i: Option<&HashMap<String, AttributeValue>>| {
            serde_json::Value::Object(
                i.into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), json(v)))
                    .collect(),
            )
        };
        let record = serde_json::json!({
            "eventID": r.event_id(),
            "eventName": r.event_name().map(|n| n.as_str()),
            "eventVersion": r.event_version(),
            "eventSource": "aws:dynamodb",
            "awsRegion": r.aws_region(),
            "eventSourceARN": arn,
            "dynamodb": {
                "ApproximateCreationDateTime": change.approximate_creation_date_time().map(|t| t.secs()),
                "Keys": image(change.keys.as_ref()),
                "NewImage": image(change.new_image.as_ref()),
                "OldImage": image(change.old_image.as_ref()),
                "SequenceNumber": change.sequence_number(),
                "SizeBytes": change.size_bytes(),
                "StreamViewType": change.stream_view_type().map(|v| v.as_str()),
            },
        });
        Ok(serde_json::from_value(record)?)
    }

    /// An attribute value in DynamoDB's JSON form (`{"S": "..."}`), as Lambda's records carry it.
    fn json(v: &AttributeValue) -> serde_json::Value {
        use base64::Engine as _;
        use serde_json::json;
        let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
            base64::engine::general_purpose::STANDARD.encode(b.as_ref())
        };
        match v {
            AttributeValue::S(s) => json!({ "S": s }),
            AttributeValue::N(n) => json!({ "N": n }),
            AttributeValue::Bool(b) => json!({ "BOOL": b }),
            AttributeValue::Null(n) => json!({ "NULL": n }),
            AttributeValue::B(b) => json!({ "B": b64(b) }),
            AttributeValue::Ss(l) => json!({ "SS": l }),
            AttributeValue::Ns(l) => json!({ "NS": l }),
            AttributeValue::Bs(l) => json!({ "BS": l.iter().map(b64).collect::<Vec<_>>() }),
            AttributeValue::L(l) => json!({ "L": l.iter().map(json).collect::<Vec<_>>() }),
            AttributeValue::M(m) => json!({
                "M": m.iter().map(|(k, v)| (k.clone(), json(v))).collect::<serde_json::Map<_, _>>()
            }),
            _ => json!({ "NULL": true }),
        }
    }

    /// A queue subscribed to `bus` with a rule for every event of `source` (created, with the
    /// bus, if missing): what a marketplace's own consumer would do. Its URL.
    pub async fn subscribe_queue(
        events: &aws_sdk_eventbridge::Client,
        sqs: &aws_sdk_sqs::Client,
        bus: &str,
        source: &str,
        queue: &str,
    ) -> Result<String, Error> {
        if let Err(e) = events.create_event_bus().name(bus).send().await
            && !e
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception())
        {
            return Err(e.into());
        }
        let url = sqs
            .create_queue()
            .queue_name(queue)
            .send()
            .await?
            .queue_url
            .ok_or("the queue has no URL")?;
        let arn_name = aws_sdk_sqs::types::QueueAttributeName::QueueArn;
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(arn_name.clone())
            .send()
            .await?
            .attributes
            .and_then(|mut a| a.remove(&arn_name))
            .ok_or("the queue has no ARN")?;
        let rule = format!("{queue}-all-events");
        events
            .put_rule()
            .name(&rule)
            .event_bus_name(bus)
            .event_pattern(serde_json::json!({ "source": [source] }).to_string())
            .send()
            .await?;
        events
            .put_targets()
            .rule(&rule)
            .event_bus_name(bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("queue")
                    .arn(arn)
                    .build()?,
            )
            .send()
            .await?;
        Ok(url)
    }
}
