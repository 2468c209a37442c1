//! App-layer glue: the cluster lab's instances are the other instances
//! lessons count a learner's traffic on. It lives here, above both, so that
//! the lab never imports lessons and lessons never import the lab.

use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::lab::cluster::ClusterLab;
use crate::lessons::other_instances::{InstanceId, OtherInstances};

impl OtherInstances for ClusterLab {
    fn running(&self) -> BoxFuture<'_, Vec<InstanceId>> {
        Box::pin(async move {
            let ports = self.running_ports().await;
            ports.into_iter().map(InstanceId).collect()
        })
    }

    fn get<'a>(
        &'a self,
        at: InstanceId,
        learner: &'a str,
        path: &'a str,
    ) -> BoxFuture<'a, Option<Value>> {
        Box::pin(self.get_json(at.0, learner, path))
    }

    fn post<'a>(&'a self, at: InstanceId, learner: &'a str, path: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(self.post_as(at.0, learner, path))
    }
}
