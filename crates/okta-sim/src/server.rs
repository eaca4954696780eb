//! Starting and stopping a simulator: in-process on `127.0.0.1:0` for tests, or from the binary.

use crate::config::SimConfig;
use crate::credentials::{self, Credentials};
use crate::state::SimState;
use crate::{api, auth, control, middleware, wellknown};
use anyhow::Context;
use axum::Router;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Serve HTTPS with a generated self-signed certificate.
    pub tls: bool,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
        }
    }
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningSim {
    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT` with TLS), no trailing slash.
    pub base_url: String,
    /// The shared state, for tests that look inside.
    pub state: Arc<SimState>,
    /// The default API Services app and its private key.
    pub credentials: Credentials,
    /// With TLS: the PEM of the self-signed certificate (which is its own CA).
    pub ca_cert_pem: Option<String>,
    /// Time it took to generate the org.
    pub generation_time: std::time::Duration,
    handle: axum_server::Handle<SocketAddr>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningSim {
    /// Generates the org of `config` and serves it on `127.0.0.1:0` over plain HTTP.
    pub async fn start(config: SimConfig) -> anyhow::Result<Self> {
        Self::start_with(config, ServeOptions::default()).await
    }

    /// Generates the org of `config` and serves it as `options` say.
    pub async fn start_with(config: SimConfig, options: ServeOptions) -> anyhow::Result<Self> {
        let started = Instant::now();
        let org = tokio::task::spawn_blocking({
            let config = config.clone();
            move || crate::generate::generate(&config, chrono::Utc::now())
        })
        .await
        .context("org generation panicked")?;
        let generation_time = started.elapsed();
        let state = Arc::new(SimState::new(config, org));
        let credentials = credentials::create_default_app(&state)?;

        let listener = std::net::TcpListener::bind(options.listen)
            .with_context(|| format!("cannot listen on {}", options.listen))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let host = if options.tls && addr.ip().is_loopback() {
            format!("localhost:{}", addr.port())
        } else {
            addr.to_string()
        };
        let scheme = if options.tls { "https" } else { "http" };
        let base_url = format!("{scheme}://{host}");
        let _ = state.base_url.set(base_url.clone());

        let app = router(state.clone());
        let handle = axum_server::Handle::new();
        let (task, ca_cert_pem) = if options.tls {
            let (cert_pem, key_pem) = self_signed_cert(addr)?;
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem(
                cert_pem.clone().into_bytes(),
                key_pem.into_bytes(),
            )
            .await
            .context("invalid generated TLS certificate")?;
            let server = axum_server::from_tcp_rustls(listener, tls)?.handle(handle.clone());
            let task = tokio::spawn(async move {
                if let Err(e) = server
                    .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                    .await
                {
                    tracing::error!(error = %e, "okta-sim stopped");
                }
            });
            (task, Some(cert_pem))
        } else {
            let server = axum_server::from_tcp(listener)?.handle(handle.clone());
            let task = tokio::spawn(async move {
                if let Err(e) = server
                    .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                    .await
                {
                    tracing::error!(error = %e, "okta-sim stopped");
                }
            });
            (task, None)
        };
        handle.listening().await;
        let credentials = Credentials {
            base_url: base_url.clone(),
            domain: host,
            ..credentials
        };
        Ok(Self {
            base_url,
            state,
            credentials,
            ca_cert_pem,
            generation_time,
            handle,
            task: Some(task),
        })
    }

    /// Stops accepting requests and waits for the server task to end.
    pub async fn stop(mut self) {
        self.handle.shutdown();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Writes the credentials JSON to `path` (mode 0600) and, with TLS, the CA certificate
    /// next to it as `okta-sim-ca.pem`. Returns the CA path when one was written.
    pub fn write_credentials(&self, path: &std::path::Path) -> anyhow::Result<Option<PathBuf>> {
        credentials::write_file(path, &self.credentials)?;
        match &self.ca_cert_pem {
            Some(pem) => {
                let ca = path.with_file_name("okta-sim-ca.pem");
                std::fs::write(&ca, pem)
                    .with_context(|| format!("cannot write {}", ca.display()))?;
                Ok(Some(ca))
            }
            None => Ok(None),
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}

/// The full router: Okta's namespaces plus `/__sim/`, wrapped in the common middleware.
pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .merge(wellknown::routes())
        .merge(auth::routes())
        .merge(api::routes())
        .nest("/__sim", control::routes())
        .fallback(middleware::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::okta_envelope,
        ))
        .with_state(state)
}

fn self_signed_cert(addr: SocketAddr) -> anyhow::Result<(String, String)> {
    let mut names = vec!["localhost".to_string(), addr.ip().to_string()];
    if !addr.ip().is_loopback() {
        names.push("127.0.0.1".into());
    }
    let key = rcgen::KeyPair::generate().context("cannot generate TLS key")?;
    let mut params = rcgen::CertificateParams::new(names).context("bad certificate names")?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "okta-sim");
    let cert = params.self_signed(&key).context("cannot self-sign")?;
    Ok((cert.pem(), key.serialize_pem()))
}
