//! A few seeded members get a photo, uploaded through the same path as a browser's upload
//! (checked, thumbnailed, stored), so a card grid over a seeded tenant shows avatars.

use std::io::Cursor;

use entity::user;
use image::{ImageFormat, Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::{ISSUER, Plan, username};
use crate::core::Admin;
use crate::error::{Error, Result};
use crate::files::Upload;
use crate::profiles::{self, AVATAR_KEY, Stores};

/// The side of a seeded photo, in pixels.
const SIDE: u32 = 128;

/// Gives `count` of the plan's members, spread evenly, a photo in the `avatar` field (added
/// from the template catalogue when missing); members that have one keep it, so a second run
/// adds none. Returns how many it uploaded.
pub async fn add(
    stores: Stores<'_>,
    admin: &Admin<'_>,
    plan: &Plan,
    count: u64,
    mut progress: impl FnMut(u64),
) -> Result<u64> {
    if count == 0 || plan.members == 0 {
        return Ok(0);
    }
    let report = crate::fields::store::add_templates(
        stores.db,
        stores.registry,
        admin,
        &[AVATAR_KEY.into()],
    )
    .await?;
    if let Some((_, why)) = report.skipped.iter().find(|(key, _)| key != AVATAR_KEY) {
        return Err(Error::bad_input(format!("the avatar field: {why}")));
    }
    let step = (plan.members / count).max(1);
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut uploaded = 0;
    for index in (0..plan.members)
        .step_by(step as usize)
        .take(count as usize)
    {
        let Some(user_id) = seeded_user(&stores, plan, index).await? else {
            continue;
        };
        let card = profiles::read(stores.db, stores.registry, admin, user_id).await?;
        if card.avatar().is_some() {
            continue;
        }
        let upload = Upload {
            filename: format!("{}.png", username(plan.seed, index)),
            bytes: photo(&mut rng)?,
        };
        profiles::upload(stores, admin, user_id, AVATAR_KEY, upload).await?;
        uploaded += 1;
        progress(uploaded);
    }
    Ok(uploaded)
}

async fn seeded_user(stores: &Stores<'_>, plan: &Plan, index: u64) -> Result<Option<Uuid>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Issuer.eq(ISSUER))
        .filter(user::Column::Subject.eq(username(plan.seed, index)))
        .into_tuple()
        .one(stores.db)
        .await?)
}

/// A PNG portrait placeholder: a head and shoulders in a random colour on a random ground.
fn photo(rng: &mut StdRng) -> Result<Vec<u8>> {
    let ground: Rgb<u8> = Rgb([rng.random(), rng.random(), rng.random()]);
    let figure = Rgb(ground.0.map(|c: u8| c.wrapping_add(128)));
    let centre = SIDE as f32 / 2.0;
    let image = RgbImage::from_fn(SIDE, SIDE, |x, y| {
        let (dx, dy) = (x as f32 - centre, y as f32 - centre * 0.8);
        let head = dx * dx + dy * dy < (SIDE as f32 / 5.0).powi(2);
        let shoulders = y as f32 > SIDE as f32 * 0.75 && dx.abs() < SIDE as f32 * 0.35;
        if head || shoulders { figure } else { ground }
    });
    let mut bytes = Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, ImageFormat::Png)
        .map_err(|error| Error::internal(anyhow::anyhow!("encoding a seeded photo: {error}")))?;
    Ok(bytes.into_inner())
}
