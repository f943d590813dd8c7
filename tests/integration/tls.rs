//! TLS versions and legacy servers, handshake alerts and DANE TLSA matching on MX hosts.
