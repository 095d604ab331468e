//! The write-back's loops on the kube runtime. One keeps the Lease (a round every `renew`); the other
//! reconciles the latest outcome while this replica holds it: on each new outcome, on each Lease round, and
//! every `resync` (which retries failed writes). The control loop only ever replaces the latest outcome.

use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use tokio::runtime::Handle;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{LeaseLock, LeaseSettings, Outcome, WriteBack, Writer};

/// How the write-back behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteBackSettings {
    pub lease: LeaseSettings,
    /// How often failed writes are retried.
    pub resync: Duration,
    /// How often an Event that lasts is sent again.
    pub event_repeat: Duration,
}

/// Holding the Lease: until when, and the Lease to report Events about the control process on.
#[derive(Debug, Clone, PartialEq)]
struct Leadership {
    until: Timestamp,
    lease: ObjectReference,
}

/// The kube source's write-back.
#[derive(Debug)]
pub struct KubeWriteBack {
    outcomes: watch::Sender<Option<Outcome>>,
    tasks: Vec<JoinHandle<()>>,
}

impl KubeWriteBack {
    /// Starts the Lease and write loops on `runtime` (the client must belong to it).
    pub fn start(client: Client, settings: WriteBackSettings, runtime: &Handle) -> Self {
        let (outcomes, outcome_rx) = watch::channel(None);
        let (leader_tx, leader_rx) = watch::channel(None);
        let repeat = SignedDuration::try_from(settings.event_repeat)
            .unwrap_or(SignedDuration::from_mins(30));
        let writer = Writer::new(client.clone(), &settings.lease.identity, repeat);
        let lock = LeaseLock::new(client, settings.lease);
        let tasks = vec![
            runtime.spawn(keep_lease(lock, leader_tx)),
            runtime.spawn(write(writer, outcome_rx, leader_rx, settings.resync)),
        ];
        Self { outcomes, tasks }
    }
}

impl WriteBack for KubeWriteBack {
    fn write(&mut self, outcome: &Outcome) {
        self.outcomes.send_replace(Some(outcome.clone()));
    }
}

impl Drop for KubeWriteBack {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn keep_lease(mut lock: LeaseLock, leader: watch::Sender<Option<Leadership>>) {
    let renew = lock.settings().renew;
    let identity = lock.settings().identity.clone();
    let mut held = false;
    loop {
        let now_held = lock.step(Timestamp::now()).await;
        if now_held != held {
            if now_held {
                tracing::info!(%identity, "leadership gained: this replica writes status, Events and finalizers");
            } else {
                tracing::warn!(%identity, "leadership lost: another replica writes status, Events and finalizers");
            }
            held = now_held;
        }
        let leadership = lock
            .held_until()
            .filter(|_| now_held)
            .map(|until| Leadership {
                until,
                lease: lock.reference(),
            });
        leader.send_replace(leadership);
        tokio::time::sleep(renew).await;
    }
}

async fn write(
    mut writer: Writer,
    mut outcomes: watch::Receiver<Option<Outcome>>,
    mut leader: watch::Receiver<Option<Leadership>>,
    resync: Duration,
) {
    let mut leading = false;
    loop {
        tokio::select! {
            changed = outcomes.changed() => if changed.is_err() { return },
            changed = leader.changed() => if changed.is_err() { return },
            () = tokio::time::sleep(resync) => {}
        }
        let now = Timestamp::now();
        let leadership = leader.borrow_and_update().clone().filter(|l| now < l.until);
        let Some(leadership) = leadership else {
            if leading {
                writer.forget();
                leading = false;
            }
            continue;
        };
        leading = true;
        let outcome = outcomes.borrow_and_update().clone();
        if let Some(outcome) = outcome {
            let failed = writer
                .reconcile(&outcome, Some(&leadership.lease), now)
                .await;
            if failed > 0 {
                tracing::debug!("{failed} writes failed; retrying within {resync:?}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::testing::{mock_client, outcome, Call};
    use crate::writeback::Delivery;

    const SERVICE: &str = "
apiVersion: v1
kind: Node
metadata: { name: node1 }
status:
  addresses: [ { type: InternalIP, address: 198.19.0.11 } ]
  conditions: [ { type: Ready, status: 'True' } ]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop, resourceVersion: '11' }
spec: { type: LoadBalancer, loadBalancerClass: edgelb.io/slb, ports: [ { port: 80, nodePort: 30080 } ] }
";

    const LEASE: &str =
        "/apis/coordination.k8s.io/v1/namespaces/edgelb-system/leases/edgelb-control";

    fn lease(holder: &str, renewed: Timestamp) -> serde_json::Value {
        json!({
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": { "name": "edgelb-control", "namespace": "edgelb-system", "resourceVersion": "7" },
            "spec": { "holderIdentity": holder, "leaseDurationSeconds": 15,
                      "renewTime": serde_json::to_value(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(renewed)).unwrap() },
        })
    }

    #[tokio::test]
    async fn a_follower_writes_nothing_until_it_takes_over_the_expired_lease() {
        let (client, mut server) = mock_client();
        let settings = WriteBackSettings {
            lease: LeaseSettings {
                namespace: "edgelb-system".into(),
                name: "edgelb-control".into(),
                identity: "replica-a".into(),
                duration: Duration::from_secs(15),
                renew: Duration::from_millis(20),
            },
            resync: Duration::from_millis(20),
            event_repeat: Duration::from_secs(1800),
        };
        let mut writeback = KubeWriteBack::start(client, settings, &Handle::current());
        writeback.write(&outcome(SERVICE, 1, Delivery::Unconfigured));

        let call = server.expect("GET", LEASE).await;
        call.respond(200, &lease("replica-b", Timestamp::now()));
        // Two rounds later replica-b is still fresh: the next requests are Lease reads, never writes.
        let call = server.expect("GET", LEASE).await;
        call.respond(200, &lease("replica-b", Timestamp::now()));
        let call = server.expect("GET", LEASE).await;
        call.respond(
            200,
            &lease(
                "replica-b",
                Timestamp::now() - SignedDuration::from_secs(60),
            ),
        );
        let call = server.expect("PUT", &format!("{LEASE}?")).await;
        assert_eq!(call.body["spec"]["holderIdentity"], "replica-a");
        let ours = lease("replica-a", Timestamp::now());
        call.respond(200, &ours);

        // Leading now: the writes come, between Lease renewals.
        let mut writes: Vec<String> = Vec::new();
        while writes.len() < 2 {
            let call: Call = server.next().await;
            if call.path() == LEASE {
                call.respond(200, &ours);
                continue;
            }
            writes.push(format!("{} {} {}", call.method, call.path(), call.body));
            call.respond(
                200,
                &json!({ "apiVersion": "v1", "kind": "Service",
                                       "metadata": { "name": "web", "namespace": "shop" } }),
            );
        }
        assert_eq!(
            writes,
            [
                r#"PATCH /api/v1/namespaces/shop/services/web {"metadata":{"finalizers":["edgelb.io/finalizer"],"resourceVersion":"11"}}"#,
                r#"PATCH /api/v1/namespaces/shop/services/web/status {"status":{"loadBalancer":{"ingress":[{"ip":"198.18.10.100","ipMode":"VIP"}]}}}"#,
            ]
        );
        drop(writeback);
    }
}
