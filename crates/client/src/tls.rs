//! TLS for `wss://` relays: rustls (with ring) trusting the platform's certificate authorities
//! (the system's store, through rustls-native-certs, where a company adds its own), the web's
//! public ones (Mozilla's list compiled in by webpki-roots, so a device with no usable system
//! store still trusts them), and, when the team runs its own, that authority's certificates
//! from `join --ca-file`. A certificate the device does not trust is one clear line saying so
//! and what to do.

use std::sync::Arc;

use fieldsync_model::ValidationError;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_tungstenite::Connector;

/// The certificates in `pem`; refuses text that holds none.
pub fn certificates(
    pem: &str,
    field: &'static str,
) -> Result<Vec<CertificateDer<'static>>, ValidationError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| {
            ValidationError::new(field, format!("is not a PEM certificate file: {err}"))
        })?;
    if certs.is_empty() {
        return Err(ValidationError::new(
            field,
            "holds no certificate (expected -----BEGIN CERTIFICATE-----)",
        ));
    }
    Ok(certs)
}

/// The connector for a relay: the public roots plus the team's own authority, if any.
pub fn connector(ca_pem: Option<&str>) -> anyhow::Result<Connector> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // The system's store: what it cannot read or parse is left out, the rest still counts.
    let (_, _) = roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(pem) = ca_pem {
        for cert in certificates(pem, "ca-file")? {
            roots.add(cert)?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Connector::Rustls(Arc::new(config)))
}

/// Why a TLS connection failed, as the user should read it, if `err` is a TLS failure.
pub fn explain(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = cause {
        // An I/O error's source skips the error it wraps: look at that one too.
        let wrapped = current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        let tls = current
            .downcast_ref::<rustls::Error>()
            .or_else(|| wrapped.and_then(|inner| inner.downcast_ref::<rustls::Error>()));
        if let Some(tls) = tls {
            return Some(match tls {
                rustls::Error::InvalidCertificate(why) => format!(
                    "the relay's certificate is not trusted by this device ({}); if your team runs its own certificate authority, join again with --ca-file CA.pem",
                    certificate_problem(why)
                ),
                other => format!("the TLS handshake with the relay failed: {other}"),
            });
        }
        cause = current.source();
    }
    None
}

fn certificate_problem(why: &rustls::CertificateError) -> String {
    use rustls::CertificateError as Problem;
    match why {
        Problem::UnknownIssuer | Problem::BadSignature => {
            "it was issued by an authority this device does not know".to_owned()
        }
        Problem::Expired | Problem::ExpiredContext { .. } => "it has expired".to_owned(),
        Problem::NotValidYet | Problem::NotValidYetContext { .. } => {
            "it is not valid yet".to_owned()
        }
        Problem::NotValidForName | Problem::NotValidForNameContext { .. } => {
            "it was issued for another address".to_owned()
        }
        Problem::Revoked => "it has been revoked".to_owned(),
        other => format!("{other:?}"),
    }
}
