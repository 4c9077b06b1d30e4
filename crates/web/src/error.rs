//! What a failure looks like in the browser: one page saying what happened and what to do,
//! in Chinese and English (the failure may come before the page knows the reader's language).
//! A refused value is not an error page: [`crate::form`] shows it beside its field.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldsync_model::LeadError;
use fieldsync_model::validate::ValidationError;
use fieldsync_store::{LookupError, OpenError, StoreError};
use maud::html;

/// A request that could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// Another process holds the store (an import, a handover).
    #[error("{0}")]
    Locked(String),
    /// The disk is full; nothing was saved.
    #[error("{0}")]
    DiskFull(String),
    /// No such lead on this device.
    #[error("{0}")]
    Missing(String),
    /// A value that cannot be saved; forms show it beside the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A change the lead's state or the reader's role does not allow (a closed lead, a move
    /// into the win stage); forms show it at the form.
    #[error("{0}")]
    Refused(String),
    /// The store could not be read (damaged on disk: the storage engine stopped); nothing was
    /// saved.
    #[error("{0}")]
    Damaged(String),
    /// Anything else, with its message.
    #[error("{0}")]
    Other(String),
}

impl From<tokio::task::JoinError> for AppError {
    /// A store task that panicked met a store the storage engine could not read.
    fn from(err: tokio::task::JoinError) -> Self {
        match err.is_panic() {
            true => AppError::Damaged(err.to_string()),
            false => AppError::Other(err.to_string()),
        }
    }
}

impl From<OpenError> for AppError {
    fn from(err: OpenError) -> Self {
        match err {
            OpenError::Locked(_) => AppError::Locked(err.to_string()),
            other => AppError::Other(other.to_string()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Open(err) => err.into(),
            StoreError::DiskFull(_) => AppError::DiskFull(err.to_string()),
            StoreError::Missing(_) => AppError::Missing(err.to_string()),
            StoreError::Lead(LeadError::Invalid(invalid)) => AppError::Invalid(invalid),
            StoreError::Lead(LeadError::Document(_)) => AppError::Other(err.to_string()),
            StoreError::Lead(_) | StoreError::Role(_) => AppError::Refused(err.to_string()),
            other => AppError::Other(other.to_string()),
        }
    }
}

impl From<LeadError> for AppError {
    fn from(err: LeadError) -> Self {
        StoreError::from(err).into()
    }
}

impl From<LookupError> for AppError {
    fn from(err: LookupError) -> Self {
        match err {
            LookupError::Store(err) => err.into(),
            other => AppError::Missing(other.to_string()),
        }
    }
}

impl AppError {
    /// A refused value or change, as a form shows it (`form` names a refusal of the whole
    /// form); `None` for a failure that is not the reader's to fix.
    pub fn as_refusal(&self, form: &'static str) -> Option<ValidationError> {
        match self {
            AppError::Invalid(invalid) => Some(invalid.clone()),
            AppError::Refused(why) => Some(ValidationError::new(form, why.clone())),
            _ => None,
        }
    }

    /// The status, and what to do, in Chinese and English.
    fn advice(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            AppError::Locked(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "另一个程序（导入或交接）正在使用数据，请稍候再试。",
                "Another fieldsync command (an import or a handover) is using the store: wait for it to finish, then reload.",
            ),
            AppError::DiskFull(_) => (
                StatusCode::INSUFFICIENT_STORAGE,
                "磁盘已满，未保存任何内容。请清理空间后重试。",
                "The disk is full and nothing was saved: free some space on this device, then try again.",
            ),
            AppError::Missing(_) => (
                StatusCode::NOT_FOUND,
                "此设备上没有这条线索（可能已移交他人）。",
                "This device holds no such lead (it may have been handed to someone else).",
            ),
            AppError::Invalid(_) | AppError::Refused(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "输入有误，未保存。",
                "A value is wrong; nothing was saved.",
            ),
            AppError::Damaged(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "本机数据无法读取（可能已损坏），未保存任何内容。请关闭应用，运行 fieldsync repair：它会保留尚未同步的更改，并从团队的中继重新取回其余数据。",
                "This device's store could not be read (it may be damaged); nothing was saved. Close the app and run fieldsync repair: it keeps the changes not yet synced and fetches the rest from the team's relay again.",
            ),
            AppError::Other(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "出错了，未保存任何内容。",
                "Something went wrong; nothing was saved.",
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, zh, en) = self.advice();
        let page = html! {
            (maud::DOCTYPE)
            html lang="zh-CN" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { "fieldsync" }
                    link rel="stylesheet" href=(crate::assets::CSS_PATH);
                    link rel="icon" href=(crate::assets::ICON_PATH) type="image/svg+xml";
                }
                body {
                    main class="problem" role="alert" {
                        h1 { (zh) }
                        p { (en) }
                        p class="detail" { (self.to_string()) }
                        p { a href="/" { "今天 · Today" } }
                    }
                }
            }
        };
        (status, page).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::AppError;

    #[tokio::test]
    async fn a_store_task_that_panicked_is_a_damaged_store_with_the_way_back() {
        let panicked = tokio::task::spawn_blocking(|| panic!("unreachable page"))
            .await
            .map_err(AppError::from);
        let err = panicked.unwrap_err();
        assert!(matches!(err, AppError::Damaged(_)), "{err:?}");
        let (status, zh, en) = err.advice();
        assert_eq!(status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(zh.contains("fieldsync repair") && en.contains("fieldsync repair"));
    }
}
