//! Rebuilding a projection while its tables serve (`cj-assessment replay --online`). The
//! projection is built into shadow tables of the same shape in the schema
//! [`SHADOW_SCHEMA`] — its own SQL, unchanged, resolves its unqualified table names there
//! through the transaction's `search_path` — in ordinary committed chunks under a
//! checkpoint of its own, while the live projector keeps the old tables current. Then, in
//! one transaction under the live projector's checkpoint lock, the shadow catches up with
//! the log's last final events and takes the old tables' place: the views over them are
//! dropped and made again from their own definitions, the old tables are dropped, the
//! shadows are moved in with the old tables' triggers, and the live checkpoint takes the
//! shadow's position. A reader waits for that transaction (a few statements) and then
//! reads the new tables: PostgreSQL looks a name up again when the table it waited for
//! was replaced. Against ADR 0005's truncate-under-lock, readers never wait for the
//! rebuild itself, and no transaction stays open while it runs (ADR 0014).

use crate::checkpoint;
use crate::error::ProjectionError;
use crate::log::LogPosition;
use crate::projection::Projection;
use crate::replay::{ReplayReport, REPLAY_CHUNK_SIZE};
use crate::runner::{apply_chunk, plan_each_statement};
use sqlx::{PgConnection, PgPool};
use std::time::Instant;

/// Where shadow tables are built.
pub const SHADOW_SCHEMA: &str = "cj_rebuild";

const CREATE_SCHEMA: &str = "CREATE SCHEMA IF NOT EXISTS cj_rebuild";

/// Unqualified names resolve to the shadow tables first, the rest (the log, checkpoints)
/// to the public schema.
const SHADOW_SEARCH_PATH: &str = "SET LOCAL search_path = cj_rebuild, public";

/// The views that read any of the given public tables, with their definitions.
const DEPENDENT_VIEWS: &str = "
SELECT DISTINCT v.relname::text, pg_get_viewdef(v.oid)
  FROM pg_depend d
  JOIN pg_rewrite r ON r.oid = d.objid
  JOIN pg_class v ON v.oid = r.ev_class AND v.relkind = 'v'
  JOIN pg_class t ON t.oid = d.refobjid
  JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = 'public'
 WHERE t.relname = ANY($1) AND v.relname <> ALL($1)";

/// The user triggers of a public table, as the statements that create them.
const TRIGGERS: &str = "
SELECT pg_get_triggerdef(g.oid)
  FROM pg_trigger g
 WHERE g.tgrelid = ('public.' || $1)::regclass AND NOT g.tgisinternal";

/// Pairs of (shadow index, live index) of a table that index the same way under different
/// names: `LIKE … INCLUDING ALL` names a copied index by PostgreSQL's default, and the
/// migrations name theirs.
const RENAMED_INDEXES: &str = "
WITH shadow AS (
    SELECT i.relname::text AS name,
           x.indisunique::text || regexp_replace(pg_get_indexdef(i.oid), '^.* USING ', '') AS shape
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
     WHERE x.indrelid = ('cj_rebuild.' || $1)::regclass),
live AS (
    SELECT i.relname::text AS name,
           x.indisunique::text || regexp_replace(pg_get_indexdef(i.oid), '^.* USING ', '') AS shape
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
     WHERE x.indrelid = ('public.' || $1)::regclass)
SELECT shadow.name, live.name FROM shadow JOIN live USING (shape)
 WHERE shadow.name <> live.name";

/// The storage parameters (fillfactor) of a public table.
const RELOPTIONS: &str = "
SELECT array_to_string(reloptions, ', ') FROM pg_class
 WHERE oid = ('public.' || $1)::regclass AND reloptions IS NOT NULL";

/// The shadow projector's checkpoint name.
pub fn shadow_name(projection: &dyn Projection) -> String {
    format!("{}__rebuild", projection.name())
}

/// Rebuilds `projection` into shadow tables while the live ones serve, then switches;
/// `progress(applied, 0)` is called after every chunk.
pub async fn rebuild_online(
    pool: &PgPool,
    projection: &dyn Projection,
    progress: impl FnMut(u64, i64),
) -> Result<ReplayReport, ProjectionError> {
    let started = Instant::now();
    let built = build_shadow(pool, projection, progress).await?;
    let caught_up = switch(pool, projection).await?;
    Ok(ReplayReport {
        projection: projection.name(),
        events: built + caught_up,
        elapsed: started.elapsed(),
    })
}

/// Builds the projection's shadow tables from the log start up to its last final event, in
/// committed chunks; returns the events applied.
pub async fn build_shadow(
    pool: &PgPool,
    projection: &dyn Projection,
    mut progress: impl FnMut(u64, i64),
) -> Result<u64, ProjectionError> {
    let shadow = shadow_name(projection);
    create_shadow_tables(pool, projection, &shadow).await?;
    let mut events = 0u64;
    loop {
        let mut tx = pool.begin().await?;
        enter_shadow(&mut tx).await?;
        let from = checkpoint::lock(&mut tx, &shadow).await?;
        let Some((to, applied)) = apply_chunk(&mut tx, projection, from, REPLAY_CHUNK_SIZE).await?
        else {
            return Ok(events);
        };
        checkpoint::advance(&mut tx, &shadow, to, applied as i64).await?;
        tx.commit().await?;
        events += applied as u64;
        progress(events, 0);
    }
}

/// Empty shadows of the projection's tables (columns, defaults, constraints, indexes and
/// storage parameters of the live ones) and a shadow checkpoint at the log start.
async fn create_shadow_tables(
    pool: &PgPool,
    projection: &dyn Projection,
    shadow: &str,
) -> Result<(), ProjectionError> {
    let mut tx = pool.begin().await?;
    sqlx::query(CREATE_SCHEMA).execute(&mut *tx).await?;
    for table in projection.tables() {
        let ddl = [
            format!("DROP TABLE IF EXISTS {SHADOW_SCHEMA}.{table}"),
            format!("CREATE TABLE {SHADOW_SCHEMA}.{table} (LIKE public.{table} INCLUDING ALL)"),
        ];
        for statement in ddl {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        let renamed: Vec<(String, String)> = sqlx::query_as(RENAMED_INDEXES)
            .bind(table)
            .fetch_all(&mut *tx)
            .await?;
        for (shadow_index, live_index) in renamed {
            sqlx::query(&format!(
                "ALTER INDEX {SHADOW_SCHEMA}.{shadow_index} RENAME TO {live_index}"
            ))
            .execute(&mut *tx)
            .await?;
        }
        let options: Option<String> = sqlx::query_scalar(RELOPTIONS)
            .bind(table)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(options) = options {
            sqlx::query(&format!(
                "ALTER TABLE {SHADOW_SCHEMA}.{table} SET ({options})"
            ))
            .execute(&mut *tx)
            .await?;
        }
    }
    checkpoint::lock(&mut tx, shadow).await?;
    checkpoint::reset(&mut tx, shadow).await?;
    tx.commit().await?;
    Ok(())
}

async fn enter_shadow(conn: &mut PgConnection) -> Result<(), ProjectionError> {
    sqlx::query(SHADOW_SEARCH_PATH).execute(&mut *conn).await?;
    plan_each_statement(conn).await
}

/// The switch, in one transaction: the live projector waits at its checkpoint; the shadow
/// applies the last final events; the shadows replace the live tables and the live
/// checkpoint moves to the shadow's. Returns the events the shadow applied here.
pub async fn switch(pool: &PgPool, projection: &dyn Projection) -> Result<u64, ProjectionError> {
    let name = projection.name();
    let shadow = shadow_name(projection);
    let shadow = shadow.as_str();
    let tables: Vec<&str> = projection.tables().to_vec();
    let mut tx = pool.begin().await?;
    checkpoint::lock(&mut tx, name).await?;
    let views: Vec<(String, String)> = sqlx::query_as(DEPENDENT_VIEWS)
        .bind(&tables)
        .fetch_all(&mut *tx)
        .await?;
    let mut triggers: Vec<String> = Vec::new();
    for table in &tables {
        let defined: Vec<String> = sqlx::query_scalar(TRIGGERS)
            .bind(table)
            .fetch_all(&mut *tx)
            .await?;
        triggers.extend(defined);
    }
    enter_shadow(&mut tx).await?;
    let mut position: LogPosition = checkpoint::lock(&mut tx, shadow).await?;
    let mut events = 0u64;
    while let Some((to, applied)) =
        apply_chunk(&mut tx, projection, position, REPLAY_CHUNK_SIZE).await?
    {
        checkpoint::advance(&mut tx, shadow, to, applied as i64).await?;
        position = to;
        events += applied as u64;
    }
    sqlx::query("SET LOCAL search_path = public")
        .execute(&mut *tx)
        .await?;
    for (view, _) in &views {
        sqlx::query(&format!("DROP VIEW public.{view}"))
            .execute(&mut *tx)
            .await?;
    }
    for table in &tables {
        for statement in [
            format!("DROP TABLE public.{table}"),
            format!("ALTER TABLE {SHADOW_SCHEMA}.{table} SET SCHEMA public"),
        ] {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
    }
    for statement in triggers {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    for (view, definition) in &views {
        sqlx::query(&format!("CREATE VIEW public.{view} AS {definition}"))
            .execute(&mut *tx)
            .await?;
    }
    checkpoint::take_over(&mut tx, shadow, name).await?;
    tx.commit().await?;
    Ok(events)
}
