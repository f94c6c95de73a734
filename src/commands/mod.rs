//! One module per subcommand.

pub mod demo;
pub mod fit;
pub mod simulate;
