//! The lead numbers this device gives the leads it creates (`fieldsync_model::number`): its
//! letters, and per month the last sequence it used, kept in the store's metadata and saved in
//! the transaction that stores the leads numbered.

use std::collections::BTreeMap;

use automerge::ActorId;
use fieldsync_model::LeadHistory;
use fieldsync_model::number::{device_code, lead_number, month};
use redb::{ReadableTable, WriteTransaction};

use crate::error::StoreError;
use crate::tables::{META, meta_key};
use crate::{decode_json, put_meta};

/// The next numbers of this device.
pub(crate) struct Numbering {
    /// The device's letters.
    device: String,
    /// Per month (`2611`), the last sequence used.
    last: BTreeMap<String, u32>,
}

impl Numbering {
    /// This device's numbering as `meta` has it.
    pub(crate) fn load(
        meta: &impl ReadableTable<&'static str, &'static [u8]>,
        actor: &ActorId,
    ) -> Result<Numbering, StoreError> {
        let last = match meta.get(meta_key::NUMBERS)? {
            Some(bytes) => decode_json(meta_key::NUMBERS, bytes.value())?,
            None => BTreeMap::new(),
        };
        Ok(Numbering {
            device: device_code(actor),
            last,
        })
    }

    /// Gives `history` the next number of the month it came in, unless it has one (a row
    /// imported with its number).
    pub(crate) fn number(&mut self, history: &mut LeadHistory) {
        if history.new.number.is_some() {
            return;
        }
        let month = month(history.new.created_at);
        let sequence = self.last.entry(month.clone()).or_insert(0);
        *sequence += 1;
        history.new.number = Some(lead_number(&month, &self.device, *sequence));
    }

    /// Saves the sequences used, in the transaction that stores the leads.
    pub(crate) fn save(&self, txn: &WriteTransaction) -> Result<(), StoreError> {
        put_meta(txn, meta_key::NUMBERS, &self.last)
    }
}

/// Reads `META` in `txn` for [`Numbering::load`].
pub(crate) fn numbering(txn: &WriteTransaction, actor: &ActorId) -> Result<Numbering, StoreError> {
    Numbering::load(&txn.open_table(META)?, actor)
}
