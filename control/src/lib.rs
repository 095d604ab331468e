//! edgelb-control: turns a cluster's Services and Ingresses (from the API server, or a directory of manifests)
//! into the dataplane's desired state.
//!
//! - [`model`]: the objects read, as k8s-openapi types in a [`model::ClusterState`];
//! - [`source`]: where they come from (a manifests directory now; the API server behind the same trait later);
//! - [`planner`]: the pure function from objects to a [`edgelb_config::desired::DesiredState`];
//! - [`push`]: delivering it to the dataplane's admin socket, again after a dataplane restart;
//! - [`summary`], [`cli`], [`run`]: the binary's output, flags and loop.

pub mod cli;
pub mod model;
pub mod planner;
pub mod push;
pub mod run;
pub mod source;
pub mod summary;
