//! Essay texts: the Content Service client (`GET {url}/{storage_id}`, `POST {url}`), and the
//! built-in content store with the same HTTP shape, kept in PostgreSQL ([`store`],
//! [`routes`]).

pub mod client;
pub mod routes;
pub mod store;

pub use routes::{content_read_routes, content_write_routes};
