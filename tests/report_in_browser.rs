//! The teacher's report as a person sees it: headless Chromium renders the page of a real
//! finished batch to a PNG; the picture is not blank and the DOM holds the chart. The report
//! needs a reader token: the browser goes through a stand-in for the gateway that adds the
//! teacher's bearer token (as a deployment's gateway does), and straight at the API without
//! one it gets the 401 answer, not the report.
//! Needs Debian's `chromium` (`scripts/test.sh` installs it).

mod support;

use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use cj_assessment::store::BatchCommandBus;
use std::process::Command;
use support::http::serve;
use support::prerequisites::{is_not_found, missing};
use support::service::{reader_token, test_api};
use support::{drain_projections, run_simulated_batch, TestDatabase};

/// A gateway stand-in: `GET /report/{id}` fetches the API's report with `token`.
fn token_adding_gateway(api: String, token: String) -> Router {
    Router::new().route(
        "/report/{id}",
        get(move |Path(id): Path<String>| {
            let (api, token) = (api.clone(), token.clone());
            async move {
                let answer = reqwest::Client::new()
                    .get(format!("{api}/api/v1/batches/{id}/report"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("the API answers");
                let status = answer.status();
                let page = answer.text().await.expect("a body");
                (
                    status,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    page,
                )
                    .into_response()
            }
        }),
    )
}

fn chromium(args: &[&str], url: &str) -> std::process::Output {
    let profile = std::env::temp_dir().join(format!("cj-chromium-{}", uuid::Uuid::new_v4()));
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap_or_else(|error| match error {
            error if is_not_found(&error) => missing("chromium", "apt-get install chromium"),
            other => panic!("chromium does not start: {other}"),
        })
}

/// Share of pixels that are not near-white.
fn ink_share(png_path: &std::path::Path) -> f64 {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).expect("screenshot written"));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buffer).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = &buffer[..info.buffer_size()];
    let inked = pixels
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    inked as f64 / (pixels.len() / channels) as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_renders_in_a_browser_with_its_chart() {
    let db = TestDatabase::create().await;
    let bus = BatchCommandBus::new(db.pool.clone());
    let run = run_simulated_batch(&bus, 5).await;
    drain_projections(&db.pool).await;
    let api = serve(test_api(db.pool.clone())).await;
    let gateway = serve(token_adding_gateway(api.clone(), reader_token())).await;
    let url = format!("{gateway}/report/{}", run.batch_id);

    let without_token = format!("{api}/api/v1/batches/{}/report", run.batch_id);
    let refused = tokio::task::spawn_blocking(move || chromium(&["--dump-dom"], &without_token))
        .await
        .unwrap();
    let refused = String::from_utf8_lossy(&refused.stdout);
    assert!(
        refused.contains("a bearer token is required") && !refused.contains("scale-chart"),
        "without a token the browser gets the 401 answer: {refused}"
    );

    let screenshot = std::env::temp_dir().join(format!("cj-report-{}.png", run.batch_id));
    let shot = {
        let url = url.clone();
        let target = format!("--screenshot={}", screenshot.display());
        tokio::task::spawn_blocking(move || chromium(&[&target, "--window-size=1000,1200"], &url))
            .await
            .unwrap()
    };
    assert!(
        shot.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let ink = ink_share(&screenshot);
    assert!(
        ink > 0.01,
        "the page looks blank ({:.3} % inked)",
        ink * 100.0
    );

    let dom = tokio::task::spawn_blocking(move || chromium(&["--dump-dom"], &url))
        .await
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("id=\"scale-chart\""),
        "the chart is in the rendered DOM"
    );
    assert!(dom.contains("<circle"), "essays are plotted");
}
