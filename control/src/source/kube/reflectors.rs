//! One reflector per kind: a kube-runtime watcher (list, then watch; relist when the watch expires) feeding a
//! [`Store`], driven by a task on the kube runtime. Each task records whether its kind's first full list has
//! arrived, and raises the source's shared change flag when anything of its kind changes. Watch errors are
//! logged and retried with kube's default backoff; the store keeps serving the last full list meanwhile.

use std::fmt::Debug;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::StreamExt;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, watcher, Event};
use kube::runtime::WatchStreamExt;
use kube::Resource;
use serde::de::DeserializeOwned;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// A kind's cache, filled by a background task.
#[derive(Debug)]
pub(crate) struct Reflected<K: Resource<DynamicType = ()> + 'static> {
    /// As `kubectl api-resources` names it (`services`), for messages.
    pub kind: &'static str,
    pub store: Store<K>,
    listed: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl<K> Reflected<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    /// Starts watching `api` (with `config`'s selectors) on `runtime`; `changed` is raised on every change.
    pub fn start(
        kind: &'static str,
        api: Api<K>,
        config: watcher::Config,
        changed: Arc<AtomicBool>,
        runtime: &Handle,
    ) -> Self {
        let (store, writer) = reflector::store();
        let listed = Arc::new(AtomicBool::new(false));
        // managedFields is never read and is often the larger part of an object.
        let stream = watcher(api, config)
            .default_backoff()
            .modify(|o| o.meta_mut().managed_fields = None);
        let stream = reflector::reflector(writer, stream);
        let flag = Arc::clone(&listed);
        let task = runtime.spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(Event::InitDone) => {
                        if !flag.swap(true, Ordering::SeqCst) {
                            tracing::info!("{kind}: first full list received");
                        }
                        changed.store(true, Ordering::SeqCst);
                    }
                    Ok(Event::Apply(_) | Event::Delete(_)) => changed.store(true, Ordering::SeqCst),
                    Ok(Event::Init | Event::InitApply(_)) => {}
                    Err(e) => tracing::warn!("watching {kind}: {e}; retrying with backoff"),
                }
            }
        });
        Self {
            kind,
            store,
            listed,
            task,
        }
    }

    /// Whether the first full list has been received (the store then always holds a full list).
    pub fn listed(&self) -> bool {
        self.listed.load(Ordering::SeqCst)
    }

    /// The objects, cloned out of the store.
    pub fn objects(&self) -> impl Iterator<Item = K> {
        self.store.state().into_iter().map(|o| (*o).clone())
    }
}

impl<K: Resource<DynamicType = ()> + 'static> Drop for Reflected<K> {
    fn drop(&mut self) {
        self.task.abort();
    }
}
