//! Group commit ([`GroupCommit`]): writes that arrive together are written
//! in one transaction, the way orders being placed are.

use std::sync::Arc;

/// Group commit: writes that arrive while another is being written wait,
/// and are then written together, in one transaction, as one batch. With
/// SQLite's single writer, a transaction per write spends most of its time
/// handing statements between threads while every other writer queues;
/// one transaction for many writes pays that once per batch.
///
/// There is no writer task: each caller queues its job and waits for
/// either its result or the turn. Whoever gets the turn takes the queued
/// jobs (its own or other callers'), starts writing them and keeps the
/// turn until they are written. The writing runs in a task of its own, so
/// a caller that goes away (a closed connection) never cuts off the other
/// jobs of its batch. A job whose caller has gone away before its batch
/// starts is dropped unwritten.
pub struct GroupCommit<J, R> {
    queue: std::sync::Mutex<Vec<(J, tokio::sync::oneshot::Sender<R>)>>,
    turn: Arc<tokio::sync::Mutex<()>>,
}

impl<J, R> Default for GroupCommit<J, R> {
    fn default() -> Self {
        GroupCommit {
            queue: std::sync::Mutex::new(Vec::new()),
            turn: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

impl<J, R> std::fmt::Debug for GroupCommit<J, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl<J: Send + 'static, R: Send + 'static> GroupCommit<J, R> {
    /// Queues `job` and waits for its result. A batch takes queued jobs in
    /// order of arrival while their `weight`s add up to at most `max_weight`
    /// (always at least one job); `write` returns one result per job, in
    /// the order given. `None`: the write was lost (the writing panicked).
    pub async fn submit<W, Fut>(
        &self,
        job: J,
        weight: fn(&J) -> usize,
        max_weight: usize,
        write: W,
    ) -> Option<R>
    where
        W: Fn(Vec<J>) -> Fut,
        Fut: std::future::Future<Output = Vec<R>> + Send + 'static,
    {
        let (sender, mut result) = tokio::sync::oneshot::channel();
        self.lock_queue().push((job, sender));
        loop {
            tokio::select! {
                biased;
                r = &mut result => return r.ok(),
                turn = self.turn.clone().lock_owned() => {
                    let (jobs, senders): (Vec<J>, Vec<_>) = self.take(weight, max_weight).into_iter().unzip();
                    if jobs.is_empty() {
                        // Our job was in the batch that just ended: its
                        // result is in `result`.
                        continue;
                    }
                    let writing = write(jobs);
                    tokio::spawn(async move {
                        let results = writing.await;
                        for (sender, r) in senders.into_iter().zip(results) {
                            let _ = sender.send(r);
                        }
                        drop(turn);
                    });
                }
            }
        }
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<(J, tokio::sync::oneshot::Sender<R>)>> {
        // A panic while the queue was locked left it whole (push and drain
        // do not panic halfway): go on with it.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(
        &self,
        weight: fn(&J) -> usize,
        max_weight: usize,
    ) -> Vec<(J, tokio::sync::oneshot::Sender<R>)> {
        let mut queue = self.lock_queue();
        queue.retain(|(_, sender)| !sender.is_closed());
        let mut total = 0;
        let n = queue
            .iter()
            .take_while(|(job, _)| {
                total += weight(job);
                total <= max_weight
            })
            .count()
            .max(1)
            .min(queue.len());
        queue.drain(..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commit_writes_every_job_once_in_batches() {
        let queue: Arc<GroupCommit<u32, u32>> = Arc::new(GroupCommit::default());
        let batches = Arc::new(std::sync::Mutex::new(Vec::<Vec<u32>>::new()));
        let mut callers = Vec::new();
        for n in 0..200u32 {
            let (queue, batches) = (queue.clone(), batches.clone());
            callers.push(tokio::spawn(async move {
                queue
                    .submit(
                        n,
                        |_| 1,
                        16,
                        move |jobs: Vec<u32>| {
                            let batches = batches.clone();
                            async move {
                                tokio::time::sleep(Duration::from_millis(2)).await;
                                batches.lock().unwrap().push(jobs.clone());
                                jobs.iter().map(|j| j * 10).collect()
                            }
                        },
                    )
                    .await
            }));
        }
        for (n, caller) in callers.into_iter().enumerate() {
            assert_eq!(caller.await.unwrap(), Some(n as u32 * 10));
        }
        let batches = batches.lock().unwrap();
        let mut written: Vec<u32> = batches.iter().flatten().copied().collect();
        written.sort();
        assert_eq!(written, (0..200).collect::<Vec<_>>());
        assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= 16));
        assert!(
            batches.len() < 200,
            "jobs that waited were written together"
        );
    }
}
