//! Pictures kept in `<data-dir>/uploads` (product pictures, the brand's
//! logo): reading one from a form, storing it in place of the one before,
//! serving it, and removing it. One place for the file-system side, so the
//! checks (kind by the bytes, size, names that cannot leave the folder)
//! are the same for every picture.

use std::future::Future;
use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::{Error, Result};

/// A stored file name is one weiops gave (`<prefix>-<hex>.<ext>`): ASCII
/// letters, digits, `-` and `.`, not starting with a dot, so nothing that
/// could leave the uploads folder.
pub fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && !name.starts_with('.')
}

fn content_type_of(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("png") => "image/png",
        Some("jpg") => "image/jpeg",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("uploads")
}

/// The stored picture `file` with its content type and `cache_control`;
/// 404 when there is no data folder, no file, a name weiops did not give,
/// or the file is gone.
pub async fn serve(
    data_dir: Option<&Path>,
    file: Option<&str>,
    cache_control: &'static str,
) -> Result<Response> {
    let (Some(dir), Some(file)) = (data_dir, file) else {
        return Err(Error::NotFound);
    };
    if !safe_file_name(file) {
        return Err(Error::NotFound);
    }
    let bytes = match tokio::fs::read(folder(dir).join(file)).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotFound),
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type_of(file)),
            (header::CACHE_CONTROL, cache_control),
        ],
        bytes,
    )
        .into_response())
}

/// Why a picture was not taken; the caller names it in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The server runs without a data folder.
    NoUploads,
    /// The form had no file.
    NoFile,
    TooLarge,
    /// Not a PNG, JPEG or WebP by its first bytes.
    NotAnImage,
}

/// A picture read from a form, checked.
pub struct Picture {
    bytes: axum::body::Bytes,
    ext: &'static str,
}

/// Reads the picture of form field `field`: at most `max` bytes, a kind
/// [`super::image_kind`] knows.
pub async fn read_picture(
    data_dir: Option<&Path>,
    multipart: Multipart,
    field: &str,
    max: usize,
) -> Result<std::result::Result<Picture, Refused>> {
    if data_dir.is_none() {
        return Ok(Err(Refused::NoUploads));
    }
    let Some(bytes) = super::uploaded_file(multipart, field).await? else {
        return Ok(Err(Refused::NoFile));
    };
    if bytes.len() > max {
        return Ok(Err(Refused::TooLarge));
    }
    let Some((ext, _)) = super::image_kind(&bytes) else {
        return Ok(Err(Refused::NotAnImage));
    };
    Ok(Ok(Picture { bytes, ext }))
}

/// Stores `picture` as `<prefix>-<random hex>.<ext>`, then `record` saves
/// that name (with its audit entry) and returns the name it replaces, whose
/// file is removed. When `record` fails, the new file is removed again.
pub async fn replace<F, Fut>(
    data_dir: &Path,
    prefix: &str,
    picture: Picture,
    record: F,
) -> Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<Option<String>>>,
{
    let folder = folder(data_dir);
    tokio::fs::create_dir_all(&folder)
        .await
        .map_err(anyhow::Error::from)?;
    let file = format!(
        "{prefix}-{}.{}",
        crate::identity::random_hex(8),
        picture.ext
    );
    let path = folder.join(&file);
    tokio::fs::write(&path, &picture.bytes)
        .await
        .map_err(anyhow::Error::from)?;
    match record(file).await {
        Ok(old) => {
            remove(Some(data_dir), old.as_deref()).await;
            Ok(())
        }
        Err(e) => {
            let _ = tokio::fs::remove_file(&path).await;
            Err(e)
        }
    }
}

/// Removes a stored picture, if there is one by a name weiops gave; a
/// file already gone is no error.
pub async fn remove(data_dir: Option<&Path>, file: Option<&str>) {
    if let (Some(dir), Some(file)) = (data_dir, file)
        && safe_file_name(file)
    {
        let _ = tokio::fs::remove_file(folder(dir).join(file)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_weiops_gives_are_served() {
        assert!(safe_file_name("product-1-abcdef.png"));
        assert!(safe_file_name("brand-logo-ab12.webp"));
        assert!(!safe_file_name("../x.png"));
        assert!(!safe_file_name("a/b.png"));
        assert!(!safe_file_name(".hidden"));
        assert!(!safe_file_name(""));
        assert_eq!(content_type_of("x.jpg"), "image/jpeg");
        assert_eq!(content_type_of("x.gif"), "application/octet-stream");
    }
}
