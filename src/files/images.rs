//! Image checks and processing: decoding under a pixel bound (decompression bombs are refused
//! before any pixel is decoded), EXIF orientation applied, metadata stripped by re-encoding,
//! thumbnails.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

use crate::error::Error;

/// The image types the service accepts anywhere, with their decoders: uploads decode only
/// these, and a card value may point only at an image of one of these types.
const ACCEPTED: [(&str, ImageFormat); 4] = [
    ("image/png", ImageFormat::Png),
    ("image/jpeg", ImageFormat::Jpeg),
    ("image/webp", ImageFormat::WebP),
    ("image/gif", ImageFormat::Gif),
];

/// Whether `content_type` is an accepted image type.
pub fn is_accepted(content_type: &str) -> bool {
    format_of(content_type).is_some()
}

fn format_of(content_type: &str) -> Option<ImageFormat> {
    ACCEPTED
        .iter()
        .find(|(accepted, _)| *accepted == content_type)
        .map(|(_, format)| *format)
}

/// Thumbnail sizes (the longest side, in pixels), generated once at upload.
pub const THUMBNAIL_SIZES: [u32; 3] = [64, 256, 1024];

/// An accepted image, normalised.
pub struct ProcessedImage {
    /// The image re-encoded without metadata, orientation applied.
    pub bytes: Vec<u8>,
    /// Its content type.
    pub content_type: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// JPEG thumbnails, by size.
    pub thumbnails: Vec<(u32, Vec<u8>)>,
}

/// Decodes, orients, strips and thumbnails an image whose sniffed type is `content_type`.
pub fn process(bytes: &[u8], content_type: &str, max_pixels: u64) -> Result<ProcessedImage, Error> {
    let format = format_of(content_type)
        .ok_or_else(|| Error::bad_input(format!("{content_type} images are not accepted")))?;
    let image = decode(bytes, format, max_pixels)?;
    let (width, height) = (image.width(), image.height());
    let (bytes, content_type) = encode_stripped(&image, format)?;
    let thumbnails = THUMBNAIL_SIZES
        .iter()
        .map(|size| Ok((*size, thumbnail(&image, *size)?)))
        .collect::<Result<_, Error>>()?;
    Ok(ProcessedImage {
        bytes,
        content_type,
        width,
        height,
        thumbnails,
    })
}

fn decode(bytes: &[u8], format: ImageFormat, max_pixels: u64) -> Result<DynamicImage, Error> {
    let unreadable =
        |e: image::ImageError| Error::bad_input(format!("the image cannot be read: {e}"));
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(Error::bad_input(format!(
            "the image has {width}×{height} pixels; at most {max_pixels} pixels are accepted"
        )));
    }
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Re-encodes the image: image encoders write no EXIF, so location and camera data are gone.
/// WebP and GIF are stored as PNG (the image crate writes neither lossy WebP nor animations).
fn encode_stripped(
    image: &DynamicImage,
    format: ImageFormat,
) -> Result<(Vec<u8>, &'static str), Error> {
    match format {
        ImageFormat::Jpeg => Ok((
            encode(&DynamicImage::ImageRgb8(image.to_rgb8()), ImageFormat::Jpeg)?,
            "image/jpeg",
        )),
        _ => Ok((encode(image, ImageFormat::Png)?, "image/png")),
    }
}

fn thumbnail(image: &DynamicImage, size: u32) -> Result<Vec<u8>, Error> {
    let scaled = if image.width() > size || image.height() > size {
        image.thumbnail(size, size)
    } else {
        image.clone()
    };
    encode(
        &DynamicImage::ImageRgb8(scaled.to_rgb8()),
        ImageFormat::Jpeg,
    )
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, Error> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).map_err(Error::internal)?;
    Ok(out.into_inner())
}
