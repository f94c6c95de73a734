//! A database of a benchmark's own on the server of a given URL: created and migrated at
//! the start, dropped at the end (unless kept for a look afterwards), so a run never
//! disturbs the data of the database it was pointed at.

use super::synthetic_log::wait_until_readable;
use crate::store::database::connect_and_migrate;
use anyhow::Context;
use sqlx::{Connection, PgConnection, PgPool};

pub struct ScratchDatabase {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    server_url: String,
    keep: bool,
}

impl ScratchDatabase {
    /// Creates `cj_bench_<prefix>_<random>` next to the database `server_url` names.
    pub async fn create(server_url: &str, prefix: &str, keep: bool) -> anyhow::Result<Self> {
        let name = format!(
            "cj_bench_{prefix}_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let mut admin = PgConnection::connect(server_url)
            .await
            .with_context(|| format!("connecting to {server_url}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .with_context(|| format!("creating database {name}"))?;
        let url = with_database(server_url, &name);
        let pool = connect_and_migrate(&url).await?;
        Ok(ScratchDatabase {
            name,
            url,
            pool,
            server_url: server_url.to_string(),
            keep,
        })
    }

    /// Brings every projection of the catalogue up to the log head, in this process;
    /// returns the events the last one applied.
    pub async fn project_everything(&self) -> anyhow::Result<u64> {
        wait_until_readable(&self.pool).await?;
        let mut events = 0;
        for projection in cj_projections::catalogue::all() {
            events = cj_projections::Projector::new(self.pool.clone(), projection)
                .catch_up()
                .await?;
        }
        Ok(events)
    }

    /// Closes the pool and drops the database (or says where it was kept).
    pub async fn finish(self) -> anyhow::Result<()> {
        self.pool.close().await;
        if self.keep {
            eprintln!("kept database {} ({})", self.name, self.url);
            return Ok(());
        }
        let mut admin = PgConnection::connect(&self.server_url).await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await
        .with_context(|| format!("dropping database {}", self.name))?;
        Ok(())
    }
}

/// `url` with its database (the path) replaced by `name`; query parameters are kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut replaced = format!("{}/{name}", &base[..host_end]);
    if let Some(query) = query {
        replaced.push('?');
        replaced.push_str(query);
    }
    replaced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced_and_the_rest_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@db:5432?sslmode=disable", "x"),
            "postgres://u:p@db:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://db/a/b", "x"), "postgres://db/x");
    }
}
