//! `cj-assessment migrate`: applies pending migrations and says which are applied.

use crate::commands::{block_on, DatabaseArgs};
use crate::store::database::{connect_and_migrate, MIGRATOR};

pub fn run(args: DatabaseArgs) -> anyhow::Result<()> {
    block_on(async {
        connect_and_migrate(&args.database_url).await?;
        for migration in MIGRATOR.iter() {
            println!("applied {} {}", migration.version, migration.description);
        }
        Ok(())
    })?
}
