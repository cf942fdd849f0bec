//! The gateway's HTTP client set-up, shared by webhook delivery and the proxy: one
//! connector that speaks `http://` and `https://` (rustls, trusting what
//! [`meshguard_tls::Trust`] loads: the platform's roots and `TLS_CA_FILE`).

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use meshguard_tls::rustls::ClientConfig;

/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The connector every outbound client uses.
pub type Connector = HttpsConnector<HttpConnector>;

/// A pooled HTTP/1 client for bodies of type `B`.
pub fn client<B>(tls: &Arc<ClientConfig>) -> Client<Connector, B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    // The scheme is checked by the TLS layer: it must let `https` through.
    http.enforce_http(false);
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(ClientConfig::clone(tls))
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// An outbound error with its causes (`client error (Connect): invalid peer certificate:
/// UnknownIssuer`): hyper's own message stops at the first level, which hides what an
/// operator needs (a refused connection, a certificate problem).
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
