//! Integration tests: a tiny in-process axum mock (always runs) and the okta-sim simulator.

mod mock;
mod rate_limits;
mod sim;

use okta_client::{ClientId, OktaClient, OktaConfig, OktaDomain, PrivateKeyInput};

/// A client for a loopback server with fast retries.
pub fn client_for(base_authority: &str, client_id: &str, key: PrivateKeyInput) -> OktaClient {
    let domain = OktaDomain::parse(base_authority, true).expect("domain");
    let id = ClientId::parse(client_id).expect("client id");
    let mut config = OktaConfig::new(domain, id, key);
    config.transport.backoff_base = std::time::Duration::from_millis(10);
    config.transport.backoff_max = std::time::Duration::from_millis(50);
    OktaClient::new(config).expect("client")
}
