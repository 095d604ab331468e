//! Why a message was refused, and the status edgelb answers with. Small and `Copy`: these are counted on the
//! hot path, never allocated.

use super::answers::Answer;

/// A framing or syntax error in a request or response head or body. For requests, [`HttpError::answer`]
/// is what edgelb sends before closing; for upstream responses the proxy answers 502 whatever the kind
/// (the kind is for counters).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum HttpError {
    /// Bad syntax in the start line or a header line (bad characters, whitespace before a colon...).
    #[error("malformed start line or header line")]
    Malformed,
    /// A header line starting with whitespace (obs-fold, RFC 9112 section 5.2).
    #[error("obsolete line folding")]
    ObsFold,
    /// A request-target that is none of the forms allowed for its method.
    #[error("invalid request-target")]
    BadTarget,
    /// An HTTP/1.1 request without a Host header.
    #[error("HTTP/1.1 request without a Host header")]
    MissingHost,
    /// More than one Host header line.
    #[error("more than one Host header")]
    DuplicateHost,
    /// A Host value that is not `host[:port]`.
    #[error("invalid Host value")]
    BadHost,
    /// A Content-Length value that is not a decimal number fitting 64 bits.
    #[error("invalid Content-Length")]
    BadContentLength,
    /// Content-Length values that differ.
    #[error("differing Content-Length values")]
    ConflictingContentLength,
    /// Both Content-Length and Transfer-Encoding.
    #[error("Content-Length together with Transfer-Encoding")]
    ContentLengthWithTransferEncoding,
    /// A Transfer-Encoding whose final coding is not `chunked`, or `chunked` applied twice.
    #[error("Transfer-Encoding whose final coding is not chunked")]
    ChunkedNotFinal,
    /// Transfer-Encoding in an HTTP/1.0 message (1.0 has no chunked coding: a smuggling vector).
    #[error("Transfer-Encoding in an HTTP/1.0 message")]
    TransferEncodingInHttp10,
    /// Bad chunked syntax in a body.
    #[error("bad chunked framing")]
    BadChunk,
    /// The connection ended before the body did.
    #[error("connection closed inside a body")]
    IncompleteBody,
    /// No complete head within `Limits::max_head` bytes.
    #[error("head larger than the limit")]
    HeadTooLarge,
    /// More header lines than the parser holds.
    #[error("too many header lines")]
    TooManyHeaders,
    /// A body larger than `Limits::max_body`.
    #[error("body larger than the limit")]
    BodyTooLarge,
    /// A transfer coding edgelb does not know.
    #[error("unknown transfer coding")]
    UnknownTransferCoding,
    /// CONNECT: edgelb is a gateway, not a forward proxy.
    #[error("method not implemented")]
    MethodNotImplemented,
    /// A well-formed HTTP version other than 1.0 and 1.1.
    #[error("HTTP version not supported")]
    VersionNotSupported,
}

impl HttpError {
    /// The answer to send the client for this error in a request.
    pub const fn answer(self) -> Answer {
        match self {
            HttpError::HeadTooLarge | HttpError::TooManyHeaders => Answer::HeaderFieldsTooLarge,
            HttpError::BodyTooLarge => Answer::ContentTooLarge,
            HttpError::UnknownTransferCoding | HttpError::MethodNotImplemented => {
                Answer::NotImplemented
            }
            HttpError::VersionNotSupported => Answer::VersionNotSupported,
            HttpError::Malformed
            | HttpError::ObsFold
            | HttpError::BadTarget
            | HttpError::MissingHost
            | HttpError::DuplicateHost
            | HttpError::BadHost
            | HttpError::BadContentLength
            | HttpError::ConflictingContentLength
            | HttpError::ContentLengthWithTransferEncoding
            | HttpError::ChunkedNotFinal
            | HttpError::TransferEncodingInHttp10
            | HttpError::BadChunk
            | HttpError::IncompleteBody => Answer::BadRequest,
        }
    }

    /// The status code of [`HttpError::answer`].
    pub const fn status(self) -> u16 {
        self.answer().status()
    }
}
