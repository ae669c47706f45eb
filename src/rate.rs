//! A token bucket, for services that document a request rate: calls wait for a token instead of
//! being throttled and retried. One bucket is shared by every call it covers, for the life of the
//! process, so back-to-back invocations of a warm function stay under the rate too.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// `per_second` requests a second on average, at most `burst` at once.
#[derive(Debug)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    pub fn new(per_second: u32, burst: u32) -> RateLimit {
        RateLimit {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            state: Mutex::new(Bucket {
                tokens: f64::from(burst.max(1)),
                at: Instant::now(),
            }),
        }
    }

    /// Waits until a request may be sent, and takes its token.
    pub async fn acquire(&self) {
        let wait = {
            let mut bucket = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
            bucket.at = now;
            // The token is taken now, even if it is only earned later: waiters queue up fairly.
            bucket.tokens -= 1.0;
            if bucket.tokens >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-bucket.tokens / self.per_second)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_and_the_rest_at_the_rate() {
        let limit = RateLimit::new(10, 30);
        let start = Instant::now();
        for _ in 0..30 {
            limit.acquire().await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the burst waits for nothing"
        );
        for _ in 0..20 {
            limit.acquire().await;
        }
        let waited = start.elapsed().as_secs_f64();
        assert!(
            (1.99..=2.01).contains(&waited),
            "20 more at 10/s take 2 s, took {waited}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_the_rate() {
        let limit = std::sync::Arc::new(RateLimit::new(10, 1));
        let start = Instant::now();
        let tasks: Vec<_> = (0..11)
            .map(|_| {
                let limit = limit.clone();
                tokio::spawn(async move { limit.acquire().await })
            })
            .collect();
        for t in tasks {
            t.await.expect("no panic");
        }
        let waited = start.elapsed().as_secs_f64();
        assert!(
            (0.99..=1.01).contains(&waited),
            "11 calls at 10/s, burst 1: {waited}"
        );
    }
}
