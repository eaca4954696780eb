//! A PostgreSQL schema per test (dropped after it).

use sqlx::{Connection as _, Executor as _};

/// A PostgreSQL schema for one test.
pub struct PgSchema {
    base: String,
    name: String,
}

impl PgSchema {
    pub async fn create(base: &str) -> PgSchema {
        let name = format!("steward_web_test_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(base).await.expect("postgres");
        c.execute(format!("CREATE SCHEMA {name}").as_str())
            .await
            .expect("schema");
        let _ = c.close().await;
        PgSchema {
            base: base.to_owned(),
            name,
        }
    }

    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
    }

    pub async fn drop_now(self) {
        if let Ok(mut c) = sqlx::PgConnection::connect(&self.base).await {
            let _ = c
                .execute(format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name).as_str())
                .await;
            let _ = c.close().await;
        }
    }
}
