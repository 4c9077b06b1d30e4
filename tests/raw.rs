//! A raw websocket client speaking the protocol frame by frame, for the tests that look at
//! what crosses the wire or behave as no real device would.

#![allow(dead_code)]

use std::time::Duration;

use fieldsync_sync::message::Message;
use fieldsync_sync::{Hello, PROTOCOL_VERSION, codec};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Ws;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::relay::Relay;

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for any one frame.
pub const FRAME_LIMIT: Duration = Duration::from_secs(10);

pub async fn connect(relay: &Relay) -> Socket {
    tokio_tungstenite::connect_async(relay.url())
        .await
        .unwrap()
        .0
}

pub async fn send(socket: &mut Socket, message: &Message) {
    socket
        .send(Ws::Binary(codec::encode(message).into()))
        .await
        .unwrap();
}

pub fn hello(team: &str, member: &str, token: &str) -> Message {
    Message::Hello(Hello {
        version: PROTOCOL_VERSION,
        team: team.into(),
        member: member.into(),
        device: "raw-test-client".into(),
        token: token.into(),
        ticket: String::new(),
    })
}

/// The next frame: a protocol message with its bytes as plain CBOR, or the close code.
pub async fn next(socket: &mut Socket) -> Result<(Message, Vec<u8>), Option<u16>> {
    loop {
        let frame = tokio::time::timeout(FRAME_LIMIT, socket.next())
            .await
            .expect("the relay answers in time");
        match frame {
            Some(Ok(Ws::Binary(bytes))) => {
                // What the frame carried, decompressed: searched for ids and values.
                let message = codec::decode(&bytes).unwrap();
                let plain = codec::encode_plain(&message);
                return Ok((message, plain));
            }
            Some(Ok(Ws::Close(frame))) => return Err(frame.map(|f| u16::from(f.code))),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// Waits for the relay to close the socket; returns the close code.
pub async fn closed_with(socket: &mut Socket) -> Option<u16> {
    loop {
        if let Err(code) = next(socket).await {
            return code;
        }
    }
}
