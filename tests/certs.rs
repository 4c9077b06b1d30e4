//! Certificates made at test time (rcgen): a certificate authority and a certificate it issued
//! for 127.0.0.1, written as PEM files. No key is ever committed.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// `ca.pem`, `cert.pem` (for 127.0.0.1 and localhost) and `key.pem` in a temporary folder.
pub struct Certificates {
    dir: tempfile::TempDir,
}

impl Certificates {
    /// A new authority and a certificate from it.
    pub fn new() -> Certificates {
        let dir = tempfile::tempdir().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "fieldsync test team CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.path().join("cert.pem"), server.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), server_key.serialize_pem()).unwrap();
        Certificates { dir }
    }

    /// One of the files.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
