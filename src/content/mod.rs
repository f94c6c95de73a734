//! Essay texts: the Content Service client (`GET {url}/{storage_id}`, `POST {url}`), the
//! built-in content store with the same HTTP shape, kept in PostgreSQL ([`store`],
//! [`routes`]), the dispatcher's cache of texts already read ([`cache`]), and the content
//! hash every essay is recorded with ([`hash`]).

pub mod cache;
pub mod client;
pub mod hash;
pub mod routes;
pub mod store;

pub use routes::{content_read_routes, content_write_routes};
