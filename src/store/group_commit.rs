//! Group commit for SQLite's refresh-token rotations: the rotations that queue while
//! the last commit is flushing share the next one.

use tokio::sync::{mpsc, oneshot};

use super::sql::{End, Engine, RotationRequest, WriteTx, rotate_in};
use super::{Rotation, StoreError};

/// The most rotations one commit takes: a burst's worth, while one transaction stays
/// short.
pub(super) const MAX_GROUP: usize = 256;

/// A rotation waiting for the writer, and where its result goes.
pub(super) type RotationJob = (
    RotationRequest,
    oneshot::Sender<Result<Rotation, StoreError>>,
);

/// Commits concurrent rotations together. SQLite takes one writer at a time and each
/// commit waits for the disk (`synchronous=FULL`), so the rotations that queued while
/// the last commit was flushing run in one transaction, in the order they came, and
/// share one flush. Each caller still hears only after that commit: nothing is
/// acknowledged before it is on disk. Should a statement or the commit fail, the group
/// is rolled back and each rotation runs again on its own, so that one request's
/// failure is never another's. Ends when the store is dropped.
pub(super) async fn group_commits<E: Engine>(
    writer: sqlx::Pool<E::Db>,
    mut queue: mpsc::Receiver<RotationJob>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let requests: Vec<&RotationRequest> = group.iter().map(|(request, _)| request).collect();
        match commit_together::<E>(&writer, &requests).await {
            Ok(rotations) => {
                for ((_, reply), rotation) in group.drain(..).zip(rotations) {
                    // A caller that went away (its client hung up) needs no answer.
                    let _ = reply.send(Ok(rotation));
                }
            }
            Err(_) => {
                for (request, reply) in group.drain(..) {
                    let result = commit_together::<E>(&writer, &[&request]).await;
                    let _ = reply.send(result.map(|mut rotations| rotations.remove(0)));
                }
            }
        }
    }
}

/// Runs `requests` in order in one writing transaction and commits it.
async fn commit_together<E: Engine>(
    writer: &sqlx::Pool<E::Db>,
    requests: &[&RotationRequest],
) -> Result<Vec<Rotation>, StoreError> {
    WriteTx::<E>::run_on(writer, async |tx| {
        let mut rotations = Vec::with_capacity(requests.len());
        for request in requests {
            rotations.push(rotate_in::<E>(tx, request).await?);
        }
        Ok(End::Commit(rotations))
    })
    .await
}
