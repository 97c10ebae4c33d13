//! Recordings in the stack's S3 bucket: written with server-side encryption, never public, read
//! back only through short-lived presigned links. The bucket itself (encryption, public access
//! blocked, objects expiring with the conversations' retention) is `template.yaml`'s.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use crate::config::RecordingConfig;

/// A recording on its way to the bucket: its size, declared before its first byte, and its
/// bytes as they arrive.
pub struct Download {
    pub size: u64,
    pub body: std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + Sync>,
    >,
}

impl Download {
    /// One already in memory.
    pub fn whole(bytes: Vec<u8>) -> Self {
        Self {
            size: bytes.len() as u64,
            body: Box::pin(futures::stream::iter([Ok(bytes::Bytes::from(bytes))])),
        }
    }

    /// Every byte of it.
    pub async fn collect(self) -> Result<Vec<u8>, std::io::Error> {
        use futures::TryStreamExt;
        let chunks: Vec<bytes::Bytes> = self.body.try_collect().await?;
        Ok(chunks.concat())
    }
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Download({} bytes)", self.size)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("the recordings bucket did not take the request")]
    Request(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("a link to the recording could not be made")]
    Link(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The stack's recordings bucket. Cheap to clone.
#[derive(Clone)]
pub struct Bucket {
    client: aws_sdk_s3::Client,
    name: String,
}

impl Bucket {
    /// A client from the standard AWS configuration chain (`AWS_ENDPOINT_URL_S3` for a local
    /// stand-in, addressed by path), with time enough for a recording of some megabytes; no
    /// request is made at start-up.
    pub async fn from_env(config: &RecordingConfig) -> Self {
        let budget = crate::config::AwsBudget {
            connect: Duration::from_secs(2),
            attempt: Duration::from_secs(10),
            operation: Duration::from_secs(20),
            max_attempts: 3,
        };
        let sdk = crate::aws::sdk_config(&budget).await;
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(config.path_style)
            .build();
        Self {
            client: aws_sdk_s3::Client::from_conf(s3),
            name: config.bucket.clone(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// Writes `download` at `key` as its bytes arrive, encrypted (the same key again replaces
    /// it: a redelivered recording is stored once).
    #[tracing::instrument(skip_all)]
    pub async fn put(
        &self,
        key: &str,
        download: Download,
        content_type: &str,
    ) -> Result<(), FilesError> {
        use futures::StreamExt;
        let frames = download.body.map(|chunk| chunk.map(http_body::Frame::data));
        let body = ByteStream::from_body_1_x(http_body_util::StreamBody::new(frames));
        self.client
            .put_object()
            .bucket(&self.name)
            .key(key)
            .content_type(content_type)
            .content_length(i64::try_from(download.size).unwrap_or(i64::MAX))
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(body)
            .send()
            .await
            .map_err(|e| FilesError::Request(Box::new(e)))?;
        Ok(())
    }

    /// A presigned `GET` of `key`, good for `valid_for`.
    pub async fn link(&self, key: &str, valid_for: Duration) -> Result<String, FilesError> {
        let presigning =
            PresigningConfig::expires_in(valid_for).map_err(|e| FilesError::Link(Box::new(e)))?;
        let request = self
            .client
            .get_object()
            .bucket(&self.name)
            .key(key)
            .presigned(presigning)
            .await
            .map_err(|e| FilesError::Link(Box::new(e)))?;
        Ok(request.uri().to_owned())
    }
}
