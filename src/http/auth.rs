//! Bearer-token authentication of the admin routes. Tokens are JWTs signed with HS256
//! (shared secret `CJ_JWT_SECRET`) or RS256 (public key `CJ_JWT_PUBLIC_KEY`, PEM); exactly
//! that one algorithm is accepted — `alg: none` and every other algorithm are refused —
//! and issuer, audience and expiry are checked. The `admin` role is required.
//! Missing or invalid tokens answer 401, a valid token without the role 403, both as JSON.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use clap::Args;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

/// The role every admin route requires.
pub const ADMIN_ROLE: &str = "admin";

/// Token settings.
#[derive(Debug, Clone, Args)]
pub struct AuthSettings {
    /// HS256 shared secret for admin tokens.
    #[arg(long, env = "CJ_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// RS256 public key (PEM) for admin tokens; takes precedence over the secret.
    #[arg(long, env = "CJ_JWT_PUBLIC_KEY", hide_env_values = true)]
    pub jwt_public_key: Option<String>,
    /// Expected `iss` claim.
    #[arg(long, env = "CJ_JWT_ISSUER", default_value = "huleedu-identity")]
    pub jwt_issuer: String,
    /// Expected `aud` claim.
    #[arg(long, env = "CJ_JWT_AUDIENCE", default_value = "cj_assessment_service")]
    pub jwt_audience: String,
}

/// The claims this service reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default)]
    pub roles: Vec<String>,
}

/// What verifies tokens; `None` key = no admin access at all (every admin call is 401).
#[derive(Clone)]
pub struct Verifier {
    key: Option<(DecodingKey, Algorithm)>,
    issuer: String,
    audience: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    #[error("CJ_JWT_PUBLIC_KEY is not an RSA public key in PEM: {0}")]
    BadPublicKey(jsonwebtoken::errors::Error),
}

impl Verifier {
    pub fn from_settings(settings: &AuthSettings) -> Result<Verifier, AuthSetupError> {
        let key = match (&settings.jwt_public_key, &settings.jwt_secret) {
            (Some(pem), _) => Some((
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(AuthSetupError::BadPublicKey)?,
                Algorithm::RS256,
            )),
            (None, Some(secret)) if !secret.is_empty() => Some((
                DecodingKey::from_secret(secret.as_bytes()),
                Algorithm::HS256,
            )),
            _ => None,
        };
        if key.is_none() {
            tracing::warn!("no CJ_JWT_SECRET or CJ_JWT_PUBLIC_KEY: admin routes refuse every call");
        }
        Ok(Verifier {
            key,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
        })
    }

    /// The claims of a valid admin token, or the response refusing it.
    fn admit(&self, authorization: Option<&str>) -> Result<Claims, Box<Response>> {
        let refuse = |status: StatusCode, message: &str| {
            Box::new((status, Json(json!({ "error": message }))).into_response())
        };
        let token = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "a bearer token is required"))?;
        let (key, algorithm) = self
            .key
            .as_ref()
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "admin access is not configured"))?;
        let mut validation = Validation::new(*algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = decode::<Claims>(token, key, &validation)
            .map_err(|e| refuse(StatusCode::UNAUTHORIZED, &format!("invalid token: {e}")))?
            .claims;
        if !claims.roles.iter().any(|r| r == ADMIN_ROLE) {
            return Err(refuse(StatusCode::FORBIDDEN, "the admin role is required"));
        }
        Ok(claims)
    }
}

/// Middleware: lets a request through only with a valid admin token.
pub async fn require_admin(
    State(verifier): State<Arc<Verifier>>,
    request: Request,
    next: Next,
) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match verifier.admit(authorization) {
        Ok(claims) => {
            tracing::info!(subject = %claims.sub, path = %request.uri().path(), "admin request");
            next.run(request).await
        }
        Err(refusal) => *refusal,
    }
}

/// An HS256 admin token for local development (`cj-assessment token dev`).
pub fn mint_dev_token(
    secret: &str,
    issuer: &str,
    audience: &str,
    valid_for: std::time::Duration,
) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let claims = Claims {
        sub: "local-developer".into(),
        iss: issuer.into(),
        aud: audience.into(),
        exp: (now + valid_for).as_secs(),
        roles: vec![ADMIN_ROLE.into()],
    };
    Ok(encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?)
}
