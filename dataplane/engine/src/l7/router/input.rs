//! What the router is built from: a listener's virtual hosts with their Ingress paths, plain data that the
//! appliance fills from the desired state (Ingress rules merged per host by the planner).

/// A pool, as numbered by the caller (the appliance's index into its L7 pool list).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolId(pub u32);

/// How a route's path is compared (Ingress `pathType`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum PathType {
    /// The whole path, case-sensitive, byte for byte.
    Exact,
    /// Element-wise prefix over `/`-separated elements; trailing slashes do not matter.
    Prefix,
    /// Left to the implementation: edgelb treats it as Prefix (an empty path means `/`).
    ImplementationSpecific,
}

/// One Ingress path of a host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The path, starting with `/`.
    pub path: String,
    /// How it is compared.
    pub path_type: PathType,
    /// Where matching requests go.
    pub pool: PoolId,
}

/// The routes of one host pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualHost {
    /// `""`: any host; `foo.example.com`: that host; `*.example.com`: exactly one more label.
    /// Case does not matter; no port, no trailing dot.
    pub host: String,
    /// Its paths, in the order of the Ingress (the first of two routes with the same path wins).
    pub routes: Vec<Route>,
}

/// Why a router could not be built; names the host and path at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouterError {
    /// A host pattern that is not a DNS name, `*.` plus one, or empty.
    #[error("host {host:?}: {reason}")]
    BadHost {
        /// The pattern as given.
        host: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The same host pattern twice (the planner merges an Ingress host's rules into one entry).
    #[error("host {host:?} is listed more than once")]
    DuplicateHost {
        /// The pattern, lowercased.
        host: String,
    },
    /// A path that Kubernetes would not accept for its path type, or that no request can have.
    #[error("host {host:?}, path {path:?}: {reason}")]
    BadPath {
        /// The host pattern of the route.
        host: String,
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}
