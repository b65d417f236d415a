//! Photos and files: real multipart uploads on disk and S3, bad uploads refused, serving.

use std::io::Cursor;

use serde_json::{Value, json};

use crate::common::Peer;
use crate::common::{Backend, TestApp, error_code, error_message};
use crate::fields::{CREATE, TEMPLATES};
use crate::files_test;

const UPLOAD: &str =
    "mutation($file: Upload!, $key: String!) { uploadFile(file: $file, fieldKey: $key) {
    file { id url contentType byteSize width height filename thumbnails { size url } }
    profile { version value(key: \"avatar\") { fileId file { id } } } } }";

/// Sends a GraphQL multipart request (the spec browsers' clients use) with one file.
pub(crate) async fn upload(
    app: &TestApp,
    token: &str,
    key: &str,
    filename: &str,
    claimed_type: &str,
    bytes: Vec<u8>,
) -> Value {
    let operations = json!({"query": UPLOAD, "variables": {"file": null, "key": key}});
    let part = reqwest::multipart::Part::bytes(bytes)
        .file_name(filename.to_owned())
        .mime_str(claimed_type)
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({"0": ["variables.file"]}).to_string())
        .part("0", part);
    let response = app
        .client
        .post(format!("{}/graphql", app.base_url))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A 40×20 JPEG whose EXIF says "rotate 90° clockwise" (orientation 6).
fn rotated_jpeg() -> Vec<u8> {
    let image = image::RgbImage::from_pixel(40, 20, image::Rgb([200, 30, 30]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    let jpeg = out.into_inner();
    let mut exif = vec![0xFF, 0xE1, 0x00, 0x22];
    exif.extend_from_slice(b"Exif\0\0II*\0\x08\0\0\0");
    exif.extend_from_slice(&[
        0x01, 0x00, 0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,
    ]);
    exif.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]);
    [&jpeg[..2], &exif[..], &jpeg[2..]].concat()
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec()
}

/// A PNG whose header claims 100 000 × 100 000 pixels: a decompression bomb.
fn pixel_bomb() -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (&b"IHDR"[..], &ihdr[..]),
        (b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
        (b"IEND", &[]),
    ] {
        bytes.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let chunk = [kind, data].concat();
        bytes.extend_from_slice(&chunk);
        bytes.extend_from_slice(&crc32(&chunk).to_be_bytes());
    }
    bytes
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

async fn setup(app: &TestApp) -> (String, String) {
    let admin = app.user_token("ada", &[("acme", "admin")]);
    app.ok(&admin, TEMPLATES, json!({"keys": ["avatar", "cv"]}))
        .await;
    (admin, app.user_token("mia", &[("acme", "member")]))
}

async fn get(app: &TestApp, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{url}", app.base_url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

files_test!(an_avatar_upload_is_normalised_thumbnailed_and_served_with_caching);
async fn an_avatar_upload_is_normalised_thumbnailed_and_served_with_caching(app: TestApp) {
    let (_, mia) = setup(&app).await;
    let body = upload(
        &app,
        &mia,
        "avatar",
        "../../../etc/passwd.png",
        "image/png",
        png(300, 200),
    )
    .await;
    assert!(body.get("errors").is_none(), "{body}");
    let result = &body["data"]["uploadFile"];
    let file = &result["file"];
    assert_eq!(file["contentType"], "image/png");
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64()),
        (Some(300), Some(200))
    );
    assert_eq!(
        file["filename"], "passwd.png",
        "no path from the client survives"
    );
    assert_eq!(result["profile"]["value"]["fileId"], file["id"]);
    let sizes: Vec<i64> = file["thumbnails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["size"].as_i64().unwrap())
        .collect();
    assert_eq!(sizes, [64, 256, 1024]);
    assert_eq!(
        app.object_count().await,
        4,
        "the image and three thumbnails"
    );

    let thumb_url = file["thumbnails"][1]["url"].as_str().unwrap();
    let thumb = get(&app, thumb_url, &[]).await;
    assert_eq!(thumb.status(), 200);
    let headers = thumb.headers().clone();
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(
        headers["cache-control"],
        "private, max-age=31536000, immutable"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let decoded = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (256, 171));
    let again = get(&app, thumb_url, &[("If-None-Match", &etag)]).await;
    assert_eq!(again.status(), 304);
    let partial = get(
        &app,
        file["url"].as_str().unwrap(),
        &[("Range", "bytes=0-7")],
    )
    .await;
    assert_eq!(partial.status(), 206);
    assert!(
        partial.headers()["content-range"]
            .to_str()
            .unwrap()
            .starts_with("bytes 0-7/")
    );
    assert_eq!(&partial.bytes().await.unwrap()[..], b"\x89PNG\r\n\x1a\n");

    let tampered = thumb_url.replace("sig=", "sig=00");
    assert_eq!(get(&app, &tampered, &[]).await.status(), 403);
}

files_test!(exif_orientation_is_applied_and_metadata_stripped);
async fn exif_orientation_is_applied_and_metadata_stripped(app: TestApp) {
    let (_, mia) = setup(&app).await;
    let body = upload(
        &app,
        &mia,
        "avatar",
        "photo.jpg",
        "image/jpeg",
        rotated_jpeg(),
    )
    .await;
    let file = &body["data"]["uploadFile"]["file"];
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64()),
        (Some(20), Some(40)),
        "{body}"
    );
    let stored = get(&app, file["url"].as_str().unwrap(), &[])
        .await
        .bytes()
        .await
        .unwrap();
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "EXIF is stripped");
}

files_test!(a_pdf_goes_into_a_file_field_and_downloads_as_an_attachment);
async fn a_pdf_goes_into_a_file_field_and_downloads_as_an_attachment(app: TestApp) {
    let (_, mia) = setup(&app).await;
    let body = upload(
        &app,
        &mia,
        "cv",
        "Lebenslauf März.pdf",
        "application/octet-stream",
        pdf(),
    )
    .await;
    let file = &body["data"]["uploadFile"]["file"];
    assert_eq!(file["contentType"], "application/pdf", "{body}");
    assert_eq!(file["thumbnails"], json!([]));
    let response = get(&app, file["url"].as_str().unwrap(), &[]).await;
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename*=UTF-8''Lebenslauf%20M%C3%A4rz.pdf"
    );
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let body = upload(
        &app,
        &mia,
        "cv",
        "photo.png",
        "application/pdf",
        png(10, 10),
    )
    .await;
    assert_eq!(
        error_code(&body),
        "BAD_USER_INPUT",
        "a PNG is no PDF, whatever the client says"
    );
}

files_test!(bad_uploads_are_refused_and_leave_nothing_behind);
async fn bad_uploads_are_refused_and_leave_nothing_behind(app: TestApp) {
    let (admin, mia) = setup(&app).await;
    let small = json!({"input": {"key": "badge", "kind": "FILE", "labels": [], "validation": {"maxBytes": 1000}}});
    app.ok(&admin, CREATE, small).await;
    let php = b"<?php system($_GET['c']); ?>".to_vec();
    let svg =
        br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec();
    let cases: Vec<(&str, &str, &str, Vec<u8>, &str)> = vec![
        (
            "avatar",
            "shell.png",
            "image/png",
            php.clone(),
            "BAD_USER_INPUT",
        ),
        ("cv", "shell.pdf", "application/pdf", php, "BAD_USER_INPUT"),
        ("avatar", "logo.svg", "image/svg+xml", svg, "BAD_USER_INPUT"),
        (
            "avatar",
            "bomb.png",
            "image/png",
            pixel_bomb(),
            "BAD_USER_INPUT",
        ),
        (
            "avatar",
            "cv.pdf",
            "application/pdf",
            pdf(),
            "BAD_USER_INPUT",
        ),
        (
            "badge",
            "big.pdf",
            "application/pdf",
            [pdf(), vec![b' '; 5000]].concat(),
            "PAYLOAD_TOO_LARGE",
        ),
        (
            "job_title",
            "x.png",
            "image/png",
            png(5, 5),
            "BAD_USER_INPUT",
        ),
        ("email", "x.png", "image/png", png(5, 5), "BAD_USER_INPUT"),
    ];
    for (key, name, claimed, bytes, code) in cases {
        let body = upload(&app, &mia, key, name, claimed, bytes).await;
        assert_eq!(error_code(&body), code, "{name} into {key}: {body}");
    }
    let bomb = upload(&app, &mia, "avatar", "bomb.png", "image/png", pixel_bomb()).await;
    assert!(error_message(&bomb).contains("pixels"), "{bomb}");
    assert_eq!(app.object_count().await, 0, "no object is left behind");
    let card = app
        .ok(&mia, "{ me { profile { version } } }", json!({}))
        .await;
    assert_eq!(card["me"]["profile"]["version"], 0, "no value was set");
}

files_test!(replacing_a_file_removes_the_old_object);
async fn replacing_a_file_removes_the_old_object(app: TestApp) {
    let (_, mia) = setup(&app).await;
    let first = upload(&app, &mia, "avatar", "a.png", "image/png", png(30, 30)).await;
    let old_url = first["data"]["uploadFile"]["file"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    upload(&app, &mia, "avatar", "b.png", "image/png", png(31, 31)).await;
    assert_eq!(
        app.object_count().await,
        4,
        "only the new image and its thumbnails"
    );
    assert_eq!(get(&app, &old_url, &[]).await.status(), 404);
    let clear = "mutation { updateMyProfile(input: {values: [{key: \"avatar\", value: null}]}) { version } }";
    app.ok(&mia, clear, json!({})).await;
    assert_eq!(app.object_count().await, 0);
}

files_test!(files_obey_tenants_and_field_access);
async fn files_obey_tenants_and_field_access(app: TestApp) {
    let (admin, mia) = setup(&app).await;
    let private = json!({"input": {"key": "passport", "kind": "FILE", "labels": [], "memberAccess": "HIDDEN"}});
    app.ok(&admin, CREATE, private).await;
    let avatar =
        upload(&app, &mia, "avatar", "a.png", "image/png", png(20, 20)).await["data"]["uploadFile"]
            ["file"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let passport = upload(&app, &mia, "passport", "p.pdf", "application/pdf", pdf()).await["data"]
        ["uploadFile"]["file"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = |token: &str| format!("Bearer {token}");
    let colleague = app.user_token("carl", &[("acme", "member")]);
    let stranger = app.user_token("eve", &[("evil", "owner")]);
    for (token, file, status) in [
        (&mia, &passport, 200),
        (&admin, &passport, 200),
        (&colleague, &avatar, 200),
        (&colleague, &passport, 404),
        (&stranger, &avatar, 404),
    ] {
        let response = get(
            &app,
            &format!("/files/{file}"),
            &[("Authorization", &bearer(token))],
        )
        .await;
        assert_eq!(response.status(), status, "{file}");
    }
    assert_eq!(
        get(&app, &format!("/files/{avatar}"), &[]).await.status(),
        401
    );

    // Another tenant's file id cannot be put on one's own card.
    app.ok(&stranger, TEMPLATES, json!({"keys": ["avatar"]}))
        .await;
    let steal = json!({"values": [{"key": "avatar", "value": avatar}]});
    let save = "mutation($values: [FieldValueInput!]!) { updateMyProfile(input: {values: $values}) { version } }";
    let body = app
        .graphql(crate::common::Call {
            token: Some(&stranger),
            query: save,
            variables: steal,
            ..Default::default()
        })
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
}

#[tokio::test]
async fn an_upload_over_the_global_limit_is_refused_while_streaming() {
    let app = TestApp::spawn_with(Backend::Sqlite, |c| c.limits.upload_bytes = 64 * 1024).await;
    let (_, mia) = setup(&app).await;
    let body = upload(
        &app,
        &mia,
        "cv",
        "big.pdf",
        "application/pdf",
        [pdf(), vec![b' '; 512 * 1024]].concat(),
    )
    .await;
    assert_eq!(error_code(&body), "PAYLOAD_TOO_LARGE", "{body}");
    assert_eq!(app.object_count().await, 0);
}

files_test!(a_browser_uploads_an_avatar_with_a_multipart_request);
async fn a_browser_uploads_an_avatar_with_a_multipart_request(app: TestApp) {
    Peer::Browser.require();
    let (_, mia) = setup(&app).await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/peers/browser-upload.mjs"
    );
    let output = tokio::process::Command::new("node")
        .args([script, &app.base_url, &mia, "avatar"])
        .output()
        .await
        .expect("node runs the headless browser");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outcome: Value = serde_json::from_slice(&output.stdout).unwrap();
    let file = &outcome["body"]["data"]["uploadFile"]["file"];
    assert_eq!(file["contentType"], "image/png", "{outcome}");
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64()),
        (Some(120), Some(80))
    );
    assert_eq!(
        (
            outcome["naturalWidth"].as_i64(),
            outcome["naturalHeight"].as_i64()
        ),
        (Some(64), Some(43)),
        "the browser shows the thumbnail"
    );
    let card = app
        .ok(
            &mia,
            "{ me { profile { value(key: \"avatar\") { file { width } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(card["me"]["profile"]["value"]["file"]["width"], 120);
}

files_test!(purging_a_field_removes_its_files);
async fn purging_a_field_removes_its_files(app: TestApp) {
    let (admin, mia) = setup(&app).await;
    let uploaded = upload(&app, &mia, "avatar", "a.png", "image/png", png(30, 30)).await;
    let url = uploaded["data"]["uploadFile"]["file"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{uploaded}"))
        .to_owned();
    assert_eq!(get(&app, &url, &[]).await.status(), 200);
    assert_eq!(app.object_count().await, 4, "the image and its thumbnails");
    let id = crate::fields::field_id(&app, &admin, "avatar").await;
    let purge =
        "mutation($id: ID!, $key: String!) { purgeFieldDefinition(id: $id, confirmKey: $key) }";
    let operator = app.operator_token("ops", &["acme"]);
    let purged = app
        .graphql(crate::common::Call {
            token: Some(&operator),
            tenant: Some("acme"),
            query: purge,
            variables: json!({"id": id, "key": "avatar"}),
        })
        .await;
    assert!(purged.get("errors").is_none(), "{purged}");
    assert_eq!(get(&app, &url, &[]).await.status(), 404);
    assert_eq!(app.object_count().await, 0, "no object outlives its field");
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(
        entity::file::Entity::find().count(&app.db).await.unwrap(),
        0
    );
}

/// Status and body of a GET, for comparing two answers.
async fn answer(app: &TestApp, url: &str) -> (u16, String) {
    let response = get(app, url, &[]).await;
    (response.status().as_u16(), response.text().await.unwrap())
}

files_test!(file_ids_tell_nothing_to_those_without_a_right);
async fn file_ids_tell_nothing_to_those_without_a_right(app: TestApp) {
    let (_, mia) = setup(&app).await;
    let file =
        upload(&app, &mia, "avatar", "a.png", "image/png", png(20, 20)).await["data"]["uploadFile"]
            ["file"]
            .clone();
    let id = file["id"].as_str().unwrap();
    let random = uuid::Uuid::new_v4().to_string();

    let anonymous = answer(&app, &format!("/files/{id}")).await;
    assert_eq!(anonymous.0, 401);
    assert_eq!(answer(&app, &format!("/files/{random}")).await, anonymous);
    assert_eq!(answer(&app, "/files/not-an-id").await, anonymous);

    let signed = file["url"].as_str().unwrap();
    assert_eq!(answer(&app, signed).await.0, 200);
    let query = signed.split_once('?').unwrap().1;
    let forged = query.replace("sig=", "sig=00");
    let bad_signature = answer(&app, &format!("/files/{id}?{forged}")).await;
    assert_eq!(bad_signature.0, 403);
    for other in [random.as_str(), "not-an-id"] {
        assert_eq!(
            answer(&app, &format!("/files/{other}?{forged}")).await,
            bad_signature
        );
        assert_eq!(
            answer(&app, &format!("/files/{other}?{query}")).await,
            bad_signature,
            "a signature is only genuine for its own file"
        );
    }
}

files_test!(if_none_match_uses_weak_comparison_and_lists);
async fn if_none_match_uses_weak_comparison_and_lists(app: TestApp) {
    let (_, mia) = setup(&app).await;
    let url =
        upload(&app, &mia, "avatar", "a.png", "image/png", png(20, 20)).await["data"]["uploadFile"]
            ["file"]["url"]
            .as_str()
            .unwrap()
            .to_owned();
    let first = get(&app, &url, &[]).await;
    assert_eq!(first.status(), 200);
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let weak = format!("W/{etag}");
    for (condition, status) in [
        (etag.clone(), 304),
        (weak.clone(), 304),
        (format!("\"other\", {weak}"), 304),
        (format!("W/\"a,b\",{etag}"), 304),
        ("*".to_owned(), 304),
        ("\"other\"".to_owned(), 200),
        ("W/\"other\", \"more\"".to_owned(), 200),
    ] {
        let response = get(&app, &url, &[("If-None-Match", &condition)]).await;
        assert_eq!(response.status(), status, "If-None-Match: {condition}");
        if status == 304 {
            assert_eq!(response.headers()["etag"], etag.as_str());
        }
    }
}
