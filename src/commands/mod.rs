//! One module per subcommand, plus [`progress`], the progress bar `replay` and `run-eng5` share.

pub mod anchors;
pub mod bench;
pub mod demo;
pub mod demo_on_postgres;
pub mod event_summary;
pub mod fit;
pub mod fit_input;
pub mod history;
pub mod inspect;
pub mod instructions;
pub mod llm_sim;
pub mod migrate;
pub mod progress;
pub mod replay;
pub mod run_eng5;
pub mod serve;
pub mod simulate;
pub mod token;
