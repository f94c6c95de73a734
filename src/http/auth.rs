//! Bearer-token authentication of every route that returns or accepts essays, scores,
//! grades or history. Tokens are JWTs signed with HS256 (shared secret `CJ_JWT_SECRET`) or
//! RS256 (public key `CJ_JWT_PUBLIC_KEY`, PEM); exactly that one algorithm is accepted —
//! `alg: none` and every other algorithm are refused — and issuer, audience and expiry are
//! checked. Each route names the [`Role`] it needs; `admin` carries every role, so admin
//! tokens minted before the finer roles existed keep working everywhere.
//! Missing or invalid tokens answer 401, a valid token without the role 403, both as JSON.
//! Read and content-writer routes may be opened for a local demo only through
//! [`Verifier::with_insecure_open_reads`]; batch submission and admin routes never are.

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

/// The role every admin route requires; it grants every other role too.
pub const ADMIN_ROLE: &str = "admin";
/// The role that reads batches, their history and report, and stored texts.
pub const READER_ROLE: &str = "reader";
/// The role of services that store texts in the built-in content store.
pub const CONTENT_WRITER_ROLE: &str = "content-writer";
/// The role that submits batches over HTTP (`POST /api/v1/batches`).
pub const SUBMITTER_ROLE: &str = "submitter";

/// What a route requires of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads of essays, scores, grades and history.
    Reader,
    /// Service-to-service writes to the content store.
    ContentWriter,
    /// Submitting batches: each one spends LLM calls, so neither reading nor storing texts
    /// grants it.
    Submitter,
    /// The admin API.
    Admin,
}

impl Role {
    /// The role's name in a token's `roles` claim.
    pub fn name(self) -> &'static str {
        match self {
            Role::Reader => READER_ROLE,
            Role::ContentWriter => CONTENT_WRITER_ROLE,
            Role::Submitter => SUBMITTER_ROLE,
            Role::Admin => ADMIN_ROLE,
        }
    }

    /// Whether [`Verifier::with_insecure_open_reads`] opens this role's routes: reads and
    /// content writes only; submitting a batch spends LLM calls and admin changes the
    /// registry, so those always need a token.
    pub fn opened_by_insecure_reads(self) -> bool {
        matches!(self, Role::Reader | Role::ContentWriter)
    }

    /// Whether a token with `roles` may act in this role (`admin` may act in any).
    pub fn granted_by(self, roles: &[String]) -> bool {
        roles
            .iter()
            .any(|role| role == self.name() || role == ADMIN_ROLE)
    }

    /// The role named `name` in a token's claim or on the command line.
    pub fn parse(name: &str) -> Option<Role> {
        [
            Role::Reader,
            Role::ContentWriter,
            Role::Submitter,
            Role::Admin,
        ]
        .into_iter()
        .find(|role| role.name() == name)
    }
}

/// Token settings.
#[derive(Clone, Args)]
pub struct AuthSettings {
    /// HS256 shared secret for admin tokens.
    #[arg(long, env = "CJ_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// RS256 public key (PEM) for admin tokens; takes precedence over the secret.
    #[arg(long, env = "CJ_JWT_PUBLIC_KEY", hide_env_values = true)]
    pub jwt_public_key: Option<String>,
    /// Expected `iss` claim.
    #[arg(long, env = "CJ_JWT_ISSUER", default_value = DEFAULT_ISSUER)]
    pub jwt_issuer: String,
    /// Expected `aud` claim.
    #[arg(long, env = "CJ_JWT_AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    pub jwt_audience: String,
}

/// The issuer of the platform's identity service, whose tokens this service accepts.
pub const DEFAULT_ISSUER: &str = "huleedu-identity";
/// This service's name as the identity service puts it in `aud`.
pub const DEFAULT_AUDIENCE: &str = "cj_assessment_service";

impl AuthSettings {
    /// HS256 with `secret` and the default issuer and audience (benchmarks, tests).
    pub fn with_secret(secret: &str) -> AuthSettings {
        AuthSettings {
            jwt_secret: Some(secret.to_string()),
            jwt_public_key: None,
            jwt_issuer: DEFAULT_ISSUER.into(),
            jwt_audience: DEFAULT_AUDIENCE.into(),
        }
    }
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret: settings are printed with `{:?}` in places.
        f.debug_struct("AuthSettings")
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| ".."))
            .field("jwt_public_key", &self.jwt_public_key.is_some())
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .finish()
    }
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

/// What verifies tokens; `None` key = no access at all to protected routes (every call is
/// 401) unless reads are opened insecurely.
#[derive(Clone)]
pub struct Verifier {
    key: Option<(DecodingKey, Algorithm)>,
    issuer: String,
    audience: String,
    open_reads: bool,
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
            tracing::warn!(
                "no CJ_JWT_SECRET or CJ_JWT_PUBLIC_KEY: protected routes refuse every call"
            );
        }
        Ok(Verifier {
            key,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            open_reads: false,
        })
    }

    /// Lets reader and content-writer routes through without a token (a local demo only);
    /// batch submission and admin routes still need a token.
    pub fn with_insecure_open_reads(mut self, open: bool) -> Self {
        self.open_reads = open;
        self
    }

    /// Whether reads are open without a token.
    pub fn reads_are_open(&self) -> bool {
        self.open_reads
    }

    /// The claims of a valid token granting `role`, or the response refusing it.
    fn admit(&self, authorization: Option<&str>, role: Role) -> Result<Claims, Box<Response>> {
        let refuse = |status: StatusCode, message: &str| {
            Box::new((status, Json(json!({ "error": message }))).into_response())
        };
        let token = authorization
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "a bearer token is required"))?;
        let (key, algorithm) = self
            .key
            .as_ref()
            .ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "token checks are not configured"))?;
        let mut validation = Validation::new(*algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = decode::<Claims>(token, key, &validation)
            .map_err(|e| refuse(StatusCode::UNAUTHORIZED, &format!("invalid token: {e}")))?
            .claims;
        if !role.granted_by(&claims.roles) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                &format!("the {} role is required", role.name()),
            ));
        }
        Ok(claims)
    }
}

/// What one group of routes requires: the verifier and the role.
#[derive(Clone)]
pub struct Gate {
    pub verifier: Arc<Verifier>,
    pub role: Role,
}

/// Middleware: lets a request through only with a valid token granting the gate's role
/// (or without one on reader and content-writer routes when reads are insecurely open).
/// The admitted token's [`Claims`] go along in the request's extensions, so a handler can
/// name who asked.
pub async fn require_role(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    if gate.role.opened_by_insecure_reads() && gate.verifier.open_reads {
        return next.run(request).await;
    }
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match gate.verifier.admit(authorization, gate.role) {
        Ok(claims) => {
            if gate.role == Role::Admin {
                tracing::info!(subject = %claims.sub, path = %request.uri().path(), "admin request");
            } else {
                tracing::debug!(subject = %claims.sub, path = %request.uri().path(), role = gate.role.name(), "authorised request");
            }
            request.extensions_mut().insert(claims);
            next.run(request).await
        }
        Err(refusal) => *refusal,
    }
}

/// An HS256 token for `subject` with `roles`, valid for `valid_for` from now: what
/// `cj-assessment token dev` prints and what the service's own clients send to the
/// built-in content store.
pub fn mint_token(
    secret: &str,
    issuer: &str,
    audience: &str,
    subject: &str,
    roles: &[Role],
    valid_for: std::time::Duration,
) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let claims = Claims {
        sub: subject.into(),
        iss: issuer.into(),
        aud: audience.into(),
        exp: (now + valid_for).as_secs(),
        roles: roles.iter().map(|role| role.name().to_string()).collect(),
    };
    Ok(encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?)
}
