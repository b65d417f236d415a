//! Object storage through `object_store`: the local disk by default, S3 when configured.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;

use crate::config::StorageConfig;

/// Builds the object store named by `url` (`file://<folder>` or `s3://<bucket>`), with the
/// S3 settings of `config`.
pub fn object_store(url: &str, config: &StorageConfig) -> anyhow::Result<Arc<dyn ObjectStore>> {
    if let Some(folder) = url.strip_prefix("file://") {
        std::fs::create_dir_all(folder)?;
        return Ok(Arc::new(LocalFileSystem::new_with_prefix(folder)?));
    }
    if let Some(bucket) = url.strip_prefix("s3://") {
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(region) = &config.s3_region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = &config.s3_endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let (Some(key), Some(secret)) = (&config.s3_access_key_id, &config.s3_secret_access_key)
        {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
        }
        return Ok(Arc::new(builder.build()?));
    }
    anyhow::bail!("storage.url must start with file:// or s3://, not {url:?}")
}
