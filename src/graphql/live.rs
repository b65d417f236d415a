//! Subscriptions: cards and field definitions as they change, on every instance. Each event is
//! read again for its subscriber, through the same capability and access function as a query,
//! so a field the subscriber may not see never reaches its payload, not even its key. A
//! membership change re-checks the subscriber's standing; an expired token ends the stream.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::futures_util::Stream;
use async_graphql::{Context, ID, SimpleObject, Subscription};
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use entity::membership::Role;

use super::guard::RoleGuard;
use super::profiles::ProfileView;
use super::tenants::parse_user_id;
use super::{Display, context_data, db, events};
use crate::auth::Principal;
use crate::config::LiveLimits;
use crate::error::Error;
use crate::events::{Change, FieldsChange};
use crate::fields::Viewer;
use crate::fields::store::FieldRegistry;
use crate::metrics::Metrics;
use crate::profiles::Card;
use crate::ratelimit::Caller;
use crate::session::Session;

/// When the token a WebSocket connection signed in with stops being valid (Unix seconds).
#[derive(Clone, Copy, Debug)]
pub struct TokenExpiry(pub i64);

/// The subscriptions open on one WebSocket connection.
#[derive(Debug, Default)]
pub struct ConnectionSlots(Mutex<usize>);

/// The subscriptions open per user on this instance, the limits, and the cards read for
/// events lately.
pub struct Subscribers {
    per_user: Mutex<HashMap<Caller, usize>>,
    limits: LiveLimits,
    cards: SharedReads,
}

/// A card as read for one event, by tenant, owner, version and kind of viewer: subscribers who
/// view it alike (all the tenant's admins, say) share one read instead of a thousand.
type SharedReads = moka::future::Cache<(Uuid, Uuid, i32, Viewer), Option<Arc<Card>>>;

impl Subscribers {
    /// Counts against `limits`.
    pub fn new(limits: LiveLimits) -> Subscribers {
        Subscribers {
            per_user: Mutex::default(),
            limits,
            cards: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(30))
                .build(),
        }
    }
}

/// A place taken by one subscription; given back when its stream ends.
struct Slot {
    subscribers: Arc<Subscribers>,
    connection: Arc<ConnectionSlots>,
    caller: Caller,
    metrics: Arc<Metrics>,
}

impl Slot {
    fn take(ctx: &Context<'_>, session: &Session) -> Result<Slot, Error> {
        let subscribers = context_data::<Arc<Subscribers>>(ctx)?.clone();
        let connection = context_data::<Arc<ConnectionSlots>>(ctx)?.clone();
        let caller = session.caller()?;
        let limits = subscribers.limits.clone();
        let mut open = lock(&connection.0);
        if *open >= limits.subscriptions_per_connection {
            return Err(too_many(
                "this connection",
                limits.subscriptions_per_connection,
            ));
        }
        let mut per_user = lock(&subscribers.per_user);
        let mine = per_user.entry(caller.clone()).or_default();
        if *mine >= limits.subscriptions_per_user {
            return Err(too_many("you already hold", limits.subscriptions_per_user));
        }
        *mine += 1;
        *open += 1;
        drop((open, per_user));
        let metrics = context_data::<Arc<Metrics>>(ctx)?.clone();
        metrics.subscriptions().inc();
        Ok(Slot {
            subscribers,
            connection,
            caller,
            metrics,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        *lock(&self.connection.0) -= 1;
        let mut per_user = lock(&self.subscribers.per_user);
        if let Some(mine) = per_user.get_mut(&self.caller) {
            *mine -= 1;
            if *mine == 0 {
                per_user.remove(&self.caller);
            }
        }
        self.metrics.subscriptions().dec();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn too_many(holder: &str, limit: usize) -> Error {
    Error::RateLimited {
        message: format!("{holder} {limit} subscriptions: end one first"),
        retry_after_seconds: 1,
    }
}

/// A card changed.
#[derive(SimpleObject)]
pub struct ProfileChange {
    /// The card's owner.
    user_id: ID,
    /// The card's new version.
    version: i32,
    /// Who saved it: `user:<id>`, `operator:<client id>` or `signin:<issuer>`.
    changed_by: String,
    /// The keys of the changed fields that you may see.
    changed_fields: Vec<String>,
    /// The card as you may see it now.
    profile: ProfileView,
}

/// A tenant's field definitions changed: read them again.
#[derive(SimpleObject)]
pub struct FieldDefinitionsChange {
    /// The tenant.
    tenant_id: ID,
    /// How they changed.
    change: FieldsChange,
}

/// Which cards a subscription follows.
#[derive(Clone, Copy)]
enum Followed {
    One(Uuid),
    EveryMember,
}

/// What a stream needs after its resolver returned.
struct Watch {
    subscribers: Arc<Subscribers>,
    db: DatabaseConnection,
    registry: Arc<FieldRegistry>,
    principal: Principal,
    tenant: Uuid,
    expires_at: Option<i64>,
    display: Arc<Display>,
    followed: Followed,
}

/// The subscription root.
#[derive(Default)]
pub struct LiveSubscription;

#[Subscription(name = "Subscription")]
impl LiveSubscription {
    /// Each save of one card of the active tenant (default: your own). Your own card; any card
    /// for admins and operators; for members, the cards of the member directory while the
    /// tenant keeps it open (with what members may see of them).
    #[graphql(guard = "RoleGuard::new(Role::Member)")]
    async fn profile_changed(
        &self,
        ctx: &Context<'_>,
        user_id: Option<ID>,
        locale: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ProfileChange>> + use<>>
    {
        let session = Session::of(ctx)?;
        let member = session.member()?;
        let subject = match &user_id {
            Some(id) => parse_user_id(id)?,
            None => member.user_id()?,
        };
        if member.user_id().ok() != Some(subject) {
            crate::profiles::directory::reader(db(ctx)?, &member).await?;
        }
        Ok(watch(ctx, session, Followed::One(subject), locale)?)
    }

    /// Each save of any card of the active tenant (admins, operators).
    #[graphql(guard = "RoleGuard::new(Role::Admin)")]
    async fn profiles_changed(
        &self,
        ctx: &Context<'_>,
        locale: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ProfileChange>> + use<>>
    {
        let session = Session::of(ctx)?;
        session.admin()?;
        Ok(watch(ctx, session, Followed::EveryMember, locale)?)
    }

    /// Each change of the active tenant's field definitions (created, updated, reordered,
    /// archived, restored, purged), so that an open form reloads them.
    #[graphql(guard = "RoleGuard::new(Role::Member)")]
    async fn field_definitions_changed(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = FieldDefinitionsChange> + use<>> {
        let session = Session::of(ctx)?;
        let tenant = session.member()?.tenant().id;
        let slot = Slot::take(ctx, session)?;
        let mut changes = events(ctx)?.subscribe();
        Ok(async_stream::stream! {
            let _slot = slot;
            loop {
                let change = match changes.recv().await {
                    Ok(change) => change,
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return,
                };
                if let Change::Fields { tenant: changed, change } = &*change
                    && *changed == tenant
                {
                    yield FieldDefinitionsChange { tenant_id: ID(tenant.to_string()), change: *change };
                }
            }
        })
    }
}

fn watch(
    ctx: &Context<'_>,
    session: &Session,
    followed: Followed,
    locale: Option<String>,
) -> Result<impl Stream<Item = async_graphql::Result<ProfileChange>> + use<>, Error> {
    let member = session.member()?;
    let slot = Slot::take(ctx, session)?;
    let changes = events(ctx)?.subscribe();
    let watch = Watch {
        subscribers: context_data::<Arc<Subscribers>>(ctx)?.clone(),
        db: context_data::<DatabaseConnection>(ctx)?.clone(),
        registry: context_data::<Arc<FieldRegistry>>(ctx)?.clone(),
        principal: session.principal()?.clone(),
        tenant: member.tenant().id,
        expires_at: ctx.data_opt::<TokenExpiry>().map(|expiry| expiry.0),
        display: Display::of(ctx, locale.as_deref(), &member.tenant().default_locale),
        followed,
    };
    Ok(stream(watch, slot, changes))
}

fn stream(
    watch: Watch,
    slot: Slot,
    mut changes: tokio::sync::broadcast::Receiver<Arc<Change>>,
) -> impl Stream<Item = async_graphql::Result<ProfileChange>> {
    async_stream::stream! {
        let _slot = slot;
        let mut session = match watch.standing().await {
            Ok(session) => session,
            Err(error) => { yield Err(error.into()); return; }
        };
        let expiry = watch.expiry();
        tokio::pin!(expiry);
        loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                () = &mut expiry => {
                    yield Err(Error::Unauthenticated("the token has expired: subscribe again with a fresh one".into()).into());
                    return;
                }
            };
            let change = match received(change) {
                Ok(Some(change)) => change,
                Ok(None) => return,
                Err(error) => { yield Err(error.into()); return; }
            };
            match &*change {
                Change::Membership { tenant, .. } | Change::Fields { tenant, .. } if *tenant != watch.tenant => {}
                Change::Membership { .. } | Change::Resync => {
                    session = match watch.standing().await {
                        Ok(session) => session,
                        Err(error) => { yield Err(error.into()); return; }
                    };
                }
                Change::Card { tenant, user, version, actor, fields } if *tenant == watch.tenant && watch.follows(*user) => {
                    match watch.read(&session, *user, *version, actor, fields.as_deref()).await {
                        Ok(Some(change)) => yield Ok(change),
                        Ok(None) => {}
                        Err(error) => { yield Err(error.into()); return; }
                    }
                }
                _ => {}
            }
        }
    }
}

/// A change as a stream takes it: `None` once the feed ended; `UNAVAILABLE` for a subscriber
/// that fell so far behind that changes it had not taken yet were dropped (the feed keeps a
/// bounded number of changes, so a slow subscriber never holds memory without bound).
fn received(change: Result<Arc<Change>, RecvError>) -> Result<Option<Arc<Change>>, Error> {
    match change {
        Ok(change) => Ok(Some(change)),
        Err(RecvError::Lagged(missed)) => Err(Error::Unavailable(format!(
            "this subscription fell behind and missed {missed} changes: subscribe again"
        ))),
        Err(RecvError::Closed) => Ok(None),
    }
}

impl Watch {
    /// The subscriber's session now (memberships read again), which must still allow what it
    /// subscribed to.
    async fn standing(&self) -> Result<Session, Error> {
        let principal = match &self.principal {
            Principal::User(user) => {
                Principal::User(Box::new(crate::users::load(&self.db, user.user.id).await?))
            }
            operator => operator.clone(),
        };
        let tenant = self.tenant.to_string();
        let session = Session::resolve(&self.db, principal, Some(&tenant)).await?;
        self.allowed(&session).await?;
        Ok(session)
    }

    /// Whether `session` may still follow what this stream follows: its own card; another's
    /// through the member directory (open, or an admin's); every card as an admin.
    async fn allowed(&self, session: &Session) -> Result<(), Error> {
        let member = session.member()?;
        match self.followed {
            Followed::One(user) if member.user_id().ok() == Some(user) => Ok(()),
            Followed::One(_) => crate::profiles::directory::reader(&self.db, &member)
                .await
                .map(drop),
            Followed::EveryMember => session.admin().map(drop),
        }
    }

    fn follows(&self, user: Uuid) -> bool {
        match self.followed {
            Followed::One(followed) => followed == user,
            Followed::EveryMember => true,
        }
    }

    /// Resolves when the token expires (never without a known expiry).
    async fn expiry(&self) {
        let Some(expires_at) = self.expires_at else {
            return std::future::pending().await;
        };
        let left = expires_at - chrono::Utc::now().timestamp();
        tokio::time::sleep(Duration::from_secs(u64::try_from(left).unwrap_or(0))).await;
    }

    /// The change as the subscriber may see it; `None` for a card read at a newer version
    /// already (its own event follows).
    async fn read(
        &self,
        session: &Session,
        user: Uuid,
        version: i32,
        actor: &str,
        fields: Option<&[String]>,
    ) -> Result<Option<ProfileChange>, Error> {
        // The member directory may have closed since (a setting, not a membership change).
        self.allowed(session).await?;
        let member = session.member()?;
        let key = (
            self.tenant,
            user,
            version,
            crate::profiles::viewer(member.scope(), user),
        );
        let read = async {
            match crate::profiles::read(&self.db, &self.registry, &member, user).await {
                Ok(card) => Ok(Some(Arc::new(card))),
                // Removed from the tenant since: nothing to show.
                Err(Error::NotFound(_)) => Ok(None),
                Err(error) => Err(error),
            }
        };
        let shared = self.subscribers.cards.try_get_with(key, read).await;
        let Some(card) = shared.map_err(|error| (*error).clone())? else {
            return Ok(None);
        };
        let card = Card::clone(&card);
        if card.version > version {
            return Ok(None);
        }
        let visible: Vec<String> = card
            .values
            .iter()
            .map(|v| v.field.key.as_str().to_owned())
            .collect();
        let changed_fields = match fields {
            Some(fields) => fields
                .iter()
                .filter(|key| visible.contains(key))
                .cloned()
                .collect(),
            None => visible,
        };
        Ok(Some(ProfileChange {
            user_id: ID(user.to_string()),
            version,
            changed_by: actor.to_owned(),
            changed_fields,
            profile: ProfileView {
                card: Arc::new(card),
                display: self.display.clone(),
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscriber_that_falls_behind_is_told_and_ended() {
        let (feed, mut slow) = tokio::sync::broadcast::channel(2);
        for _ in 0..5 {
            feed.send(Arc::new(Change::Resync))
                .expect("a receiver listens");
        }
        let lagged = received(slow.try_recv().map_err(|error| match error {
            tokio::sync::broadcast::error::TryRecvError::Lagged(n) => RecvError::Lagged(n),
            _ => RecvError::Closed,
        }));
        match lagged {
            Err(Error::Unavailable(message)) => assert!(message.contains("missed 3"), "{message}"),
            other => panic!("not ended: {other:?}"),
        }
        // The buffer is bounded: the two newest changes remain, nothing more.
        assert!(slow.try_recv().is_ok() && slow.try_recv().is_ok());
        assert!(slow.try_recv().is_err());
        drop(feed);
        assert!(matches!(received(Err(RecvError::Closed)), Ok(None)));
    }
}
