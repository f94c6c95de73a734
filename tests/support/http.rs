//! HTTP stand-ins for tests: any axum app served on a free local port, a content store
//! serving fixed texts by storage id, and a layer that records every JSON request body an
//! app receives (how many comparisons reached the provider, and what they said).
#![allow(dead_code)]

use axum::body::{to_bytes, Body};
use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::middleware::{from_fn, Next};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Serves `app` on 127.0.0.1 (a free port) in the background; returns its base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free local port");
    let address = listener.local_addr().expect("bound address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("test server runs") });
    format!("http://{address}")
}

/// A content store: `GET /{storage_id}` answers the text, unknown ids 404.
pub fn content_store(texts: HashMap<String, String>) -> Router {
    let texts = Arc::new(texts);
    Router::new().route(
        "/{storage_id}",
        get(move |Path(storage_id): Path<String>| {
            let texts = Arc::clone(&texts);
            async move {
                match texts.get(&storage_id) {
                    Some(text) => (StatusCode::OK, text.clone()),
                    None => (StatusCode::NOT_FOUND, String::new()),
                }
            }
        }),
    )
}

/// The JSON bodies an app received, in arrival order.
#[derive(Clone, Default)]
pub struct RecordedBodies(Arc<Mutex<Vec<Value>>>);

impl RecordedBodies {
    pub fn all(&self) -> Vec<Value> {
        self.0.lock().expect("not poisoned").clone()
    }
}

/// `app` with every JSON request body recorded before it is handled.
pub fn recording(app: Router) -> (Router, RecordedBodies) {
    let recorded = RecordedBodies::default();
    let sink = recorded.clone();
    let app = app.layer(from_fn(move |request: Request, next: Next| {
        let sink = sink.clone();
        async move {
            let (parts, body) = request.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            if let Ok(json) = serde_json::from_slice::<Value>(&bytes) {
                sink.0.lock().expect("not poisoned").push(json);
            }
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    }));
    (app, recorded)
}

/// `GET url` (with a bearer token, when given), decoded as JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(url: &str, token: Option<&str>) -> T {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("the request is answered")
        .json()
        .await
        .expect("the answer is JSON")
}

/// `POST url` with a JSON body and a bearer token; the answer's status.
pub async fn post_json(url: &str, token: &str, body: &Value) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("the request is answered")
        .status()
}
