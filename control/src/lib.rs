//! edgelb-control: turns a cluster's Services and Ingresses (from the API server, or a directory of manifests)
//! into the dataplane's desired state.
//!
//! - [`model`]: the objects read, as k8s-openapi types in a [`model::ClusterState`];
//! - [`source`]: where they come from (a manifests directory, or the API server);
//! - [`planner`]: the pure function from objects to a [`edgelb_config::desired::DesiredState`];
//! - [`push`]: delivering it to the dataplane's admin socket, again after a dataplane restart;
//! - [`writeback`]: what goes back to the cluster (status, Events, finalizer), by the Lease holder;
//! - [`cluster`]: the connection to the API server (tokio runtime, client) for the kube source and write-back;
//! - [`summary`], [`cli`], [`run`]: the binary's output, flags and loop.

pub mod cli;
pub mod cluster;
pub mod model;
pub mod planner;
pub mod push;
pub mod run;
pub mod source;
pub mod summary;
#[cfg(test)]
pub(crate) mod testing;
pub mod writeback;
