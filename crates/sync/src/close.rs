//! Why the relay closes a connection: websocket close codes and what each tells the user.

/// Room for the reason text in a websocket close frame (125 bytes less the 2-byte code).
pub const MAX_CLOSE_REASON_BYTES: usize = 123;

/// A reason the relay ends a connection, sent as the websocket close code and reason text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The relay is shutting down (1001).
    ShuttingDown,
    /// A frame could not be decoded or came out of order (4000).
    Protocol,
    /// The team, member or token is not known (4001).
    Unauthorized,
    /// The member was removed from the team (4003).
    Removed,
    /// The device speaks a protocol version the relay does not (4005).
    Version,
    /// A member who is not a manager pushed changes to the team document (4006).
    NotManager,
    /// A rep pushed changes to a lead they may not change: another rep's lead taken or given
    /// away, or a lead they have never been able to see (4007).
    Forbidden,
    /// The device did not keep up with the relay's messages (4008).
    TooSlow,
    /// A frame was larger than the relay accepts (4009).
    FrameTooLarge,
    /// The device did not say hello in time, or sent too much before it did (4010).
    HelloTimeout,
    /// The device stopped answering pings (4011).
    Heartbeat,
    /// The member's role changed: what they see changes with it (4012).
    RoleChanged,
    /// A lead's document is larger than the relay accepts for one lead (4013).
    DocumentTooLarge,
    /// A pushed document does not read as a lead or as the team document (4014).
    Malformed,
    /// Too many failed sign-ins as this member from this address, or too many connections
    /// from this device, in the last minute (4029).
    Throttled,
    /// The relay cannot serve the team now: a change not stored, a damaged or missing team
    /// file, an unreadable members file (4500).
    Storage,
}

impl CloseReason {
    /// Every reason, for tables and tests.
    pub const ALL: [CloseReason; 16] = [
        CloseReason::ShuttingDown,
        CloseReason::Protocol,
        CloseReason::Unauthorized,
        CloseReason::Removed,
        CloseReason::Version,
        CloseReason::NotManager,
        CloseReason::Forbidden,
        CloseReason::TooSlow,
        CloseReason::FrameTooLarge,
        CloseReason::HelloTimeout,
        CloseReason::Heartbeat,
        CloseReason::RoleChanged,
        CloseReason::DocumentTooLarge,
        CloseReason::Malformed,
        CloseReason::Throttled,
        CloseReason::Storage,
    ];

    /// The websocket close code.
    pub fn code(self) -> u16 {
        match self {
            CloseReason::ShuttingDown => 1001,
            CloseReason::Protocol => 4000,
            CloseReason::Unauthorized => 4001,
            CloseReason::Removed => 4003,
            CloseReason::Version => 4005,
            CloseReason::NotManager => 4006,
            CloseReason::Forbidden => 4007,
            CloseReason::TooSlow => 4008,
            CloseReason::FrameTooLarge => 4009,
            CloseReason::HelloTimeout => 4010,
            CloseReason::Heartbeat => 4011,
            CloseReason::RoleChanged => 4012,
            CloseReason::DocumentTooLarge => 4013,
            CloseReason::Malformed => 4014,
            CloseReason::Throttled => 4029,
            CloseReason::Storage => 4500,
        }
    }

    /// The reason for a close code, if it is one of ours.
    pub fn from_code(code: u16) -> Option<CloseReason> {
        CloseReason::ALL
            .into_iter()
            .find(|reason| reason.code() == code)
    }

    /// The reason text sent in the close frame: the explanation, cut at a character boundary
    /// to the 123 bytes a websocket close frame has room for (devices explain the code
    /// themselves in full).
    pub fn wire_text(self) -> &'static str {
        let text = self.explain();
        let mut end = text.len().min(MAX_CLOSE_REASON_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[..end]
    }

    /// What the user is told, with what to do about it.
    pub fn explain(self) -> &'static str {
        match self {
            CloseReason::ShuttingDown => "the relay is shutting down; sync again in a moment",
            CloseReason::Protocol => {
                "the relay could not read this device's messages; update fieldsync on this device"
            }
            CloseReason::Unauthorized => {
                "the relay does not accept this team, member and token; check them with your manager and run `fieldsync join` again"
            }
            CloseReason::Removed => {
                "this member has been removed from the team; ask your manager if that is a mistake"
            }
            CloseReason::Version => {
                "the relay speaks another protocol version; update fieldsync or the relay"
            }
            CloseReason::NotManager => {
                "only a manager may change the team's pipeline, and this device holds pipeline edits by a member who is not one; ask the relay's operator for the manager role, or start a new store with `fieldsync init` and join again"
            }
            CloseReason::Forbidden => {
                "this device holds a change to a lead its member may not change (another rep's lead, or one never shared with them); ask a manager to hand the lead over"
            }
            CloseReason::TooSlow => {
                "this device fell behind the relay's updates; sync again to catch up"
            }
            CloseReason::FrameTooLarge => {
                "a message was larger than the relay accepts; ask the relay's operator to raise --max-frame"
            }
            CloseReason::HelloTimeout => "the connection did not authenticate in time; sync again",
            CloseReason::Heartbeat => "the connection stopped answering; sync again",
            CloseReason::RoleChanged => {
                "this member's role changed, and with it the leads this device holds; sync again"
            }
            CloseReason::DocumentTooLarge => {
                "a lead on this device is larger than the relay accepts for one lead; ask the relay's operator (its log names the lead) about --max-document"
            }
            CloseReason::Malformed => {
                "a document on this device is not a lead fieldsync can read, and nothing of the push was stored; ask for help (the relay's log names it)"
            }
            CloseReason::Throttled => {
                "too many failed sign-ins as this member from this network, or too many connections from this device, in the last minute; wait a minute (and check the token with `fieldsync join` if this device keeps failing)"
            }
            CloseReason::Storage => {
                "the relay cannot serve this team right now (its storage or members file is failing, and its operator is told); nothing was lost on this device: sync again later"
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_fits_a_close_frame_and_round_trips_its_code() {
        for reason in CloseReason::ALL {
            assert!(
                reason.wire_text().len() <= MAX_CLOSE_REASON_BYTES,
                "{reason:?}"
            );
            assert!(reason.explain().starts_with(reason.wire_text()));
            assert_eq!(CloseReason::from_code(reason.code()), Some(reason));
        }
    }
}
