//! Small closed vocabularies: lead priority and follow-up contact channel.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How much attention a lead gets, which sets its follow-up cadence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Grade A: a sizeable company with a fitting product and the right contact, or an inbound trial.
    High,
    /// Grade B: an ordinary company, need uncertain.
    Medium,
    /// Grade C: unknown, hard to reach the decision maker.
    Low,
}

impl Priority {
    /// The stored and typed key.
    pub fn key(self) -> &'static str {
        match self {
            Priority::High => "high",
            Priority::Medium => "medium",
            Priority::Low => "low",
        }
    }
}

impl Priority {
    /// The Chinese name: 高, 中, 低.
    pub fn zh(self) -> &'static str {
        match self {
            Priority::High => "高",
            Priority::Medium => "中",
            Priority::Low => "低",
        }
    }

    /// The grade and both names, as tables show a tier: `A high 高`.
    pub fn label(self) -> &'static str {
        match self {
            Priority::High => "A high 高",
            Priority::Medium => "B medium 中",
            Priority::Low => "C low 低",
        }
    }
}

impl FromStr for Priority {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "high" | "a" | "高" => Ok(Priority::High),
            "medium" | "b" | "中" => Ok(Priority::Medium),
            "low" | "c" | "低" => Ok(Priority::Low),
            _ => Err(format!(
                "unknown priority '{text}': use high, medium or low (or A, B, C)"
            )),
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// How a follow-up reached the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactChannel {
    /// A phone call.
    Phone,
    /// An email.
    Email,
    /// An on-site visit.
    Visit,
    /// Instant messaging (WeChat, SMS...).
    Message,
}

impl ContactChannel {
    /// The stored and typed key.
    pub fn key(self) -> &'static str {
        match self {
            ContactChannel::Phone => "phone",
            ContactChannel::Email => "email",
            ContactChannel::Visit => "visit",
            ContactChannel::Message => "message",
        }
    }
}

impl FromStr for ContactChannel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "phone" | "call" | "电话" => Ok(ContactChannel::Phone),
            "email" | "mail" | "邮件" => Ok(ContactChannel::Email),
            "visit" | "拜访" => Ok(ContactChannel::Visit),
            "message" | "messaging" | "im" | "wechat" | "微信" => Ok(ContactChannel::Message),
            _ => Err(format!(
                "unknown channel '{text}': use phone, email, visit or message"
            )),
        }
    }
}

impl fmt::Display for ContactChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_map_to_priorities() {
        assert_eq!("A".parse::<Priority>(), Ok(Priority::High));
        assert_eq!("c".parse::<Priority>(), Ok(Priority::Low));
        assert!("urgent".parse::<Priority>().is_err());
        assert_eq!(
            "messaging".parse::<ContactChannel>(),
            Ok(ContactChannel::Message)
        );
    }
}
