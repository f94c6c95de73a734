//! The end-to-end runner (`cj-assessment run-eng5`) and the pieces it is made of, which the
//! pipeline tests use too: an assignment with anchors of known grade ([`assignment`]),
//! generated essays in the content store and the request that names them ([`request`]), and
//! following a batch to its end with the outcome an operator checks ([`follow`]).

pub mod assignment;
pub mod follow;
pub mod request;
