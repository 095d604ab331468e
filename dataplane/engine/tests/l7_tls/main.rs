//! TLS sessions against real rustls clients, in memory: handshakes, SNI selection, refusals with their exact
//! alert bytes, resumption across configs, application data with back-pressure, certificate rotation.

// `cfg(test)` tells clippy these modules are test code (unwrap and panic allowed), as the test crate is.
#[cfg(test)]
mod data;
#[cfg(test)]
mod handshake;
#[cfg(test)]
mod refusal;
#[cfg(test)]
mod resumption;
#[cfg(test)]
mod rotation;
#[cfg(test)]
mod support;
