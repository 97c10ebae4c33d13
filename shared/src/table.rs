//! Creates the table exactly as `template.yaml` defines it, so local work and tests cannot drift
//! from the deployed stack. Only for local tooling (`--features local`).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("template.yaml has no usable Resources.Table.Properties")]
    Template(#[source] serde_yaml::Error),
    #[error("the table definition is incomplete: {0}")]
    Invalid(String),
    #[error("DynamoDB refused the table")]
    Dynamo(#[source] Box<aws_sdk_dynamodb::Error>),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TableSpec {
    pub attribute_definitions: Vec<AttributeSpec>,
    pub key_schema: Vec<KeySpec>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexSpec>,
    #[serde(default)]
    pub time_to_live_specification: Option<TtlSpec>,
    #[serde(default)]
    pub stream_specification: Option<StreamSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamSpec {
    pub stream_view_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeSpec {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySpec {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexSpec {
    pub index_name: String,
    pub key_schema: Vec<KeySpec>,
    pub projection: ProjectionSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProjectionSpec {
    pub projection_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TtlSpec {
    pub attribute_name: String,
    pub enabled: bool,
}

/// The `Table` resource's properties in `template.yaml`.
pub fn spec_from_template(path: &str) -> Result<TableSpec, TableError> {
    let text = std::fs::read_to_string(path).map_err(|source| TableError::Read {
        path: path.to_owned(),
        source,
    })?;
    #[derive(Deserialize)]
    struct Template {
        #[serde(rename = "Resources")]
        resources: Resources,
    }
    #[derive(Deserialize)]
    struct Resources {
        #[serde(rename = "Table")]
        table: Resource,
    }
    #[derive(Deserialize)]
    struct Resource {
        #[serde(rename = "Properties")]
        properties: TableSpec,
    }
    let t: Template = serde_yaml::from_str(&text).map_err(TableError::Template)?;
    Ok(t.resources.table.properties)
}

fn keys(spec: &[KeySpec]) -> Vec<KeySchemaElement> {
    spec.iter()
        .filter_map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .ok()
        })
        .collect()
}

/// Creates `name` with the template's keys, indexes, change stream and TTL setting. An existing table is left
/// as it is (`Ok(false)`).
pub async fn create(client: &Client, name: &str, spec: &TableSpec) -> Result<bool, TableError> {
    let dynamo = |e: aws_sdk_dynamodb::Error| TableError::Dynamo(Box::new(e));
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys(&spec.key_schema)));
    for a in &spec.attribute_definitions {
        if let Ok(def) = AttributeDefinition::builder()
            .attribute_name(&a.attribute_name)
            .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
            .build()
        {
            req = req.attribute_definitions(def);
        }
    }
    if let Some(stream) = &spec.stream_specification {
        req = req.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(stream.stream_view_type.as_str()))
                .build()
                .map_err(|e| TableError::Invalid(e.to_string()))?,
        );
    }
    for g in &spec.global_secondary_indexes {
        let projection = Projection::builder()
            .projection_type(ProjectionType::from(g.projection.projection_type.as_str()))
            .build();
        if let Ok(index) = GlobalSecondaryIndex::builder()
            .index_name(&g.index_name)
            .set_key_schema(Some(keys(&g.key_schema)))
            .projection(projection)
            .build()
        {
            req = req.global_secondary_indexes(index);
        }
    }
    match req.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            return Ok(false);
        }
        Err(e) => return Err(dynamo(e.into())),
    }
    if let Some(ttl) = &spec.time_to_live_specification {
        let ttl_spec = TimeToLiveSpecification::builder()
            .attribute_name(&ttl.attribute_name)
            .enabled(ttl.enabled)
            .build()
            .map_err(|e| TableError::Invalid(e.to_string()))?;
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(ttl_spec)
            .send()
            .await
            .map_err(|e| dynamo(e.into()))?;
    }
    Ok(true)
}
