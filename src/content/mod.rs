//! Essay texts: the Content Service client (`GET {url}/{storage_id}`, `POST {url}`).

pub mod client;
