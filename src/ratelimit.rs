//! Rate limits: a budget of requests per minute for each caller (a signed-in principal, or the
//! client address of an anonymous request), and smaller budgets for costly operations
//! (uploads, bulk writes, searches). Exceeding one is `RATE_LIMITED` with `Retry-After`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use crate::config::RateLimits;
use crate::error::Error;
use crate::metrics::{Budget, Metrics};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Who a budget belongs to.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub enum Caller {
    /// A verified principal: a user (issuer and subject) or an operator client.
    Principal(String),
    /// An anonymous request (or one whose token does not verify), by client address.
    Address(IpAddr),
}

type Limiter = Option<DefaultKeyedRateLimiter<Caller>>;

/// The limiters of one instance (each instance counts its own requests).
pub struct RateLimiter {
    requests: Limiter,
    anonymous: Limiter,
    uploads: Limiter,
    bulk: Limiter,
    search: Limiter,
    metrics: Arc<Metrics>,
}

fn limiter(per_minute: u32) -> Limiter {
    NonZeroU32::new(per_minute).map(|n| governor::RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimiter {
    /// Limiters for `limits`, counting refusals into `metrics`.
    pub fn new(limits: &RateLimits, metrics: Arc<Metrics>) -> RateLimiter {
        RateLimiter {
            requests: limiter(limits.requests_per_minute),
            anonymous: limiter(limits.anonymous_per_minute),
            uploads: limiter(limits.uploads_per_minute),
            bulk: limiter(limits.bulk_per_minute),
            search: limiter(limits.search_per_minute),
            metrics,
        }
    }

    /// Spends one request of `caller`'s budget.
    pub fn admit(&self, caller: &Caller) -> Result<(), Error> {
        match caller {
            Caller::Principal(_) => self.spend(Budget::requests, &self.requests, caller),
            Caller::Address(_) => self.spend(Budget::requests, &self.anonymous, caller),
        }
    }

    /// Spends one unit of the costly `budget` of `caller`.
    pub fn spend_costly(&self, budget: Budget, caller: &Caller) -> Result<(), Error> {
        let limiter = match budget {
            Budget::requests => &self.requests,
            Budget::uploads => &self.uploads,
            Budget::bulk => &self.bulk,
            Budget::search => &self.search,
        };
        self.spend(budget, limiter, caller)
    }

    fn spend(&self, budget: Budget, limiter: &Limiter, caller: &Caller) -> Result<(), Error> {
        let Some(limiter) = limiter else {
            return Ok(());
        };
        limiter.check_key(caller).map_err(|not_until| {
            self.metrics.rate_limited(budget);
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            Error::RateLimited {
                message: format!("too many {budget:?} requests: retry in {seconds} s"),
                retry_after_seconds: seconds.max(1),
            }
        })
    }

    /// Forgets callers whose budgets are full again, so that memory follows the active
    /// callers rather than every caller ever seen.
    pub fn forget_idle(&self) {
        for limiter in [
            &self.requests,
            &self.anonymous,
            &self.uploads,
            &self.bulk,
            &self.search,
        ]
        .into_iter()
        .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}
