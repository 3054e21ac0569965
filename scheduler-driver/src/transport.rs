//! The HTTP side shared by the scheduler and executor clients: content types, encoding of
//! calls, POSTs, `Location` resolution and incremental reading of a RecordIO event stream.

use std::collections::VecDeque;
use std::fmt;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use mesos_protos::recordio::Decoder;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

use crate::error::Error;

/// Header carrying the subscription's stream id (reference §2.1).
pub(crate) const STREAM_ID_HEADER: &str = "Mesos-Stream-Id";

/// Encoding of calls and events; Mesos compares the header byte-for-byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContentType {
    /// `application/x-protobuf`: serialized messages (the default; smaller and faster).
    #[default]
    Protobuf,
    /// `application/json`: Mesos's JSON rendering.
    Json,
}

impl ContentType {
    /// The media type string.
    pub fn mime(self) -> &'static str {
        match self {
            ContentType::Protobuf => "application/x-protobuf",
            ContentType::Json => "application/json",
        }
    }

    /// Encodes a message.
    pub fn encode<M: prost::Message + prost::Name>(self, message: &M) -> Vec<u8> {
        match self {
            ContentType::Protobuf => message.encode_to_vec(),
            ContentType::Json => mesos_protos::json::to_vec(message),
        }
    }

    /// Decodes a message.
    pub fn decode<M: prost::Message + prost::Name + Default>(
        self,
        bytes: &[u8],
        what: &'static str,
    ) -> Result<M, Error> {
        let result = match self {
            ContentType::Protobuf => {
                mesos_protos::protobuf::decode::<M>(bytes).map_err(|e| e.to_string())
            }
            ContentType::Json => {
                mesos_protos::json::from_slice::<M>(bytes).map_err(|e| e.to_string())
            }
        };
        result.map_err(|reason| Error::Decode {
            what,
            content_type: self.mime(),
            reason,
        })
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// Turns `host:port`, `http://host:port` or a full URL into the API endpoint URL.
pub(crate) fn endpoint_url(address: &str, path: &str) -> Result<Url, Error> {
    let text = if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    };
    let mut url = Url::parse(&text).map_err(|e| Error::InvalidUrl {
        url: address.to_string(),
        reason: e.to_string(),
    })?;
    if url.host_str().is_none() {
        return Err(Error::InvalidUrl {
            url: address.to_string(),
            reason: "no host".into(),
        });
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(path);
    }
    Ok(url)
}

/// Resolves a `Location` (often scheme-relative: `//host:port/api/v1/scheduler`) against
/// the URL that answered `307`.
pub(crate) fn resolve_location(base: &Url, location: &str) -> Result<Url, Error> {
    base.join(location.trim()).map_err(|e| Error::Redirect {
        url: base.to_string(),
        reason: format!("unusable Location {location:?}: {e}"),
    })
}

/// A client that POSTs calls in one content type.
#[derive(Clone)]
pub(crate) struct Transport {
    http: reqwest::Client,
    pub(crate) content_type: ContentType,
    authorization: Option<HeaderValue>,
}

impl Transport {
    /// A transport; `authorization` is a full header value (`Basic …` or `Bearer …`).
    pub(crate) fn new(content_type: ContentType, authorization: Option<String>) -> Self {
        let http = reqwest::Client::builder()
            // Mesos redirects are handled by hand: `307` must be re-POSTed with the body and
            // the new leader remembered for later calls.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            // Building without TLS or custom roots cannot fail.
            .unwrap_or_else(|_| reqwest::Client::new());
        Transport {
            http,
            content_type,
            authorization: authorization.and_then(|a| HeaderValue::from_str(&a).ok()),
        }
    }

    /// POSTs a call; `stream_id` goes in `Mesos-Stream-Id`. Returns the raw response.
    pub(crate) async fn post<M: prost::Message + prost::Name>(
        &self,
        url: &Url,
        call: &M,
        stream_id: Option<&str>,
    ) -> Result<reqwest::Response, Error> {
        let mime = self.content_type.mime();
        let mut request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, mime)
            .header(ACCEPT, mime)
            .body(self.content_type.encode(call));
        if let Some(id) = stream_id {
            request = request.header(STREAM_ID_HEADER, id);
        }
        if let Some(auth) = &self.authorization {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        request.send().await.map_err(|source| Error::Transport {
            url: url.to_string(),
            source,
        })
    }

    /// POSTs a non-streaming call and expects `202 Accepted` (or `200`).
    pub(crate) async fn post_call<M: prost::Message + prost::Name>(
        &self,
        url: &Url,
        call: &M,
        stream_id: Option<&str>,
    ) -> Result<(), Error> {
        let response = self.post(url, call, stream_id).await?;
        let status = response.status();
        if status == StatusCode::ACCEPTED || status == StatusCode::OK {
            return Ok(());
        }
        Err(status_error(url, response).await)
    }
}

/// Reads the body of an unexpected answer into [`Error::Status`].
pub(crate) async fn status_error(url: &Url, response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    // Error bodies are short texts; cap what we keep in case a peer misbehaves.
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(4096).collect();
    Error::Status {
        url: url.to_string(),
        status,
        body,
    }
}

/// Incremental reader of a RecordIO stream of messages of one type.
pub(crate) struct EventReader<M> {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    decoder: Decoder,
    pending: VecDeque<Vec<u8>>,
    content_type: ContentType,
    url: Url,
    what: &'static str,
    _marker: std::marker::PhantomData<fn() -> M>,
}

impl<M: prost::Message + prost::Name + Default> EventReader<M> {
    /// Reads `response`'s body; records longer than `max_record_size` are an error.
    pub(crate) fn new(
        response: reqwest::Response,
        content_type: ContentType,
        url: Url,
        max_record_size: usize,
        what: &'static str,
    ) -> Self {
        EventReader {
            body: response.bytes_stream().boxed(),
            decoder: Decoder::with_max_record_size(max_record_size),
            pending: VecDeque::new(),
            content_type,
            url,
            what,
            _marker: std::marker::PhantomData,
        }
    }

    /// The next event; an error when the stream breaks, ends or holds garbage.
    /// Cancel-safe: a record is only taken off the queue when it is returned.
    pub(crate) async fn next(&mut self) -> Result<M, Error> {
        loop {
            if let Some(record) = self.pending.pop_front() {
                return self.content_type.decode(&record, self.what);
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.pending.extend(self.decoder.feed(&chunk)?),
                Some(Err(source)) => {
                    return Err(Error::Transport {
                        url: self.url.to_string(),
                        source,
                    })
                }
                None => {
                    self.decoder.finish()?;
                    return Err(Error::StreamEnded {
                        url: self.url.to_string(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_from_addresses() {
        let u = endpoint_url("127.0.0.1:5050", "/api/v1/scheduler").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:5050/api/v1/scheduler");
        let u = endpoint_url("http://m1:5050/", "/api/v1/scheduler").unwrap();
        assert_eq!(u.as_str(), "http://m1:5050/api/v1/scheduler");
        let u = endpoint_url(
            "http://m1:5050/master/api/v1/scheduler",
            "/api/v1/scheduler",
        )
        .unwrap();
        assert_eq!(u.path(), "/master/api/v1/scheduler");
        assert!(endpoint_url("http://", "/x").is_err());
    }

    #[test]
    fn scheme_relative_location_keeps_the_scheme() {
        let base = Url::parse("http://10.0.0.1:5050/api/v1/scheduler").unwrap();
        let u = resolve_location(&base, "//10.0.0.2:5051/api/v1/scheduler").unwrap();
        assert_eq!(u.as_str(), "http://10.0.0.2:5051/api/v1/scheduler");
        let u = resolve_location(&base, "https://m3:5050/api/v1/scheduler").unwrap();
        assert_eq!(u.as_str(), "https://m3:5050/api/v1/scheduler");
    }
}
