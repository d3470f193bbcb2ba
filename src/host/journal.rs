//! The fake POS centre's books: card accounts and every financial transaction it answered.
//!
//! Response codes come from this state, never from canned replies: a void finds its original
//! (37 + 61), a reversal undoes its original exactly once, a duplicate is refused with 94,
//! settlement totals are computed from what was approved (digest §9).

use std::collections::HashMap;

use crate::iso8583::txn::TxnKind;

/// Card state as the issuer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Active,
    Lost,
    Stolen,
    Expired,
    Frozen,
    Restricted,
}

impl CardStatus {
    /// The response code a request on a card in this state gets (appendix 3).
    pub fn decline_code(self) -> Option<&'static str> {
        match self {
            CardStatus::Active => None,
            CardStatus::Lost => Some("41"),
            CardStatus::Stolen => Some("43"),
            CardStatus::Expired => Some("54"),
            CardStatus::Frozen => Some("62"),
            CardStatus::Restricted => Some("57"),
        }
    }
}

/// One cardholder account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub pan: String,
    /// Available balance in fen.
    pub balance: i64,
    pub status: CardStatus,
    /// Expiry as YYMM.
    pub expiry: String,
    /// Currency code (`156` RMB); anything else settles in the foreign block.
    pub currency: String,
    /// Card organisation for 63.1 of responses (`CUP`, `VIS`...).
    pub card_org: String,
    /// Funds held by open pre-authorisations, in fen.
    pub held: i64,
}

impl Account {
    pub fn is_foreign(&self) -> bool {
        self.currency != "156" || self.card_org != "CUP"
    }
}

/// Where a journal entry stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    Approved,
    Declined,
    Reversed,
    Voided,
    /// A settlement adjust replaced this entry's amount.
    Adjusted,
    /// A pre-authorisation that a completion has used.
    Completed,
}

/// A financial transaction the centre answered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub id: usize,
    pub tid: String,
    pub batch: String,
    pub stan: String,
    pub kind: TxnKind,
    pub pan: String,
    pub amount: u64,
    /// Tip added by an adjust (34), in fen.
    pub tip: u64,
    pub rrn: String,
    pub auth_code: Option<String>,
    /// Host date (MMDD) and time (hhmmss) given in 13/12.
    pub date: String,
    pub time: String,
    pub code: String,
    pub state: EntryState,
    /// The entry this one voids, refunds, completes or adjusts.
    pub original: Option<usize>,
    pub offline: bool,
    pub foreign: bool,
    /// Reported by the terminal in a batch upload.
    pub uploaded: bool,
}

/// How a request identifies the transaction it refers to (37, 38, 61).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginalRef {
    pub rrn: Option<String>,
    pub auth_code: Option<String>,
    pub batch: Option<String>,
    pub stan: Option<String>,
    /// MMDD.
    pub date: Option<String>,
}

/// What the host learned from a financial request after verifying MAC and PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub tid: String,
    pub batch: String,
    pub stan: String,
    pub kind: TxnKind,
    pub pan: String,
    pub amount: u64,
    /// `Some(false)` when a PIN block was present and did not verify.
    pub pin_ok: Option<bool>,
    pub original: OriginalRef,
    /// Tip in fen (field 48 of 34).
    pub tip: u64,
    pub offline: bool,
    /// Host clock for this answer.
    pub date: String,
    pub time: String,
}

/// The centre's answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub code: &'static str,
    pub entry: Option<usize>,
    pub rrn: Option<String>,
    pub auth_code: Option<String>,
    /// Balance after the transaction, for field 54.
    pub balance: Option<i64>,
    /// Why, in words, for the transcript.
    pub reason: String,
}

impl Outcome {
    fn decline(code: &'static str, reason: impl Into<String>) -> Outcome {
        Outcome {
            code,
            entry: None,
            rrn: None,
            auth_code: None,
            balance: None,
            reason: reason.into(),
        }
    }
}

/// Totals of one currency block of a batch (0500 field 48).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    pub debit_amount: u64,
    pub debit_count: u32,
    pub credit_amount: u64,
    pub credit_count: u32,
}

/// The centre's books.
#[derive(Debug, Default)]
pub struct Journal {
    accounts: HashMap<String, Account>,
    entries: Vec<Entry>,
    /// (terminal, batch, trace) -> entries, newest last: duplicate and reversal lookups stay
    /// O(1) however long a soak runs.
    by_stan: HashMap<(String, String, String), Vec<usize>>,
    next_rrn: u64,
    next_auth: u32,
}

impl Journal {
    pub fn new(accounts: impl IntoIterator<Item = Account>) -> Journal {
        Journal {
            accounts: accounts.into_iter().map(|a| (a.pan.clone(), a)).collect(),
            entries: Vec::new(),
            by_stan: HashMap::new(),
            next_rrn: 1,
            next_auth: 1,
        }
    }

    pub fn account(&self, pan: &str) -> Option<&Account> {
        self.accounts.get(pan)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, id: usize) -> Option<&Entry> {
        self.entries.get(id)
    }

    fn rrn(&mut self, time: &str) -> String {
        let n = self.next_rrn;
        self.next_rrn += 1;
        format!(
            "{:0>6}{:06}",
            time.get(..6).unwrap_or("000000"),
            n % 1_000_000
        )
    }

    fn auth_code(&mut self) -> String {
        let n = self.next_auth;
        self.next_auth += 1;
        format!("{:06}", n % 1_000_000)
    }

    /// A live (approved, not reversed) entry of this terminal with this trace number.
    fn live_by_stan(&self, tid: &str, batch: &str, stan: &str) -> Option<&Entry> {
        self.stan_ids(tid, batch, stan)
            .rev()
            .map(|i| &self.entries[i])
            .find(|e| e.state != EntryState::Reversed)
    }

    fn stan_ids(
        &self,
        tid: &str,
        batch: &str,
        stan: &str,
    ) -> impl DoubleEndedIterator<Item = usize> + '_ {
        self.by_stan
            .get(&(tid.to_string(), batch.to_string(), stan.to_string()))
            .into_iter()
            .flat_map(|v| v.iter().copied())
    }

    fn push(&mut self, e: Entry) {
        self.by_stan
            .entry((e.tid.clone(), e.batch.clone(), e.stan.clone()))
            .or_default()
            .push(e.id);
        self.entries.push(e);
    }

    fn find_original(&self, req: &Request, kinds: &[TxnKind]) -> Option<usize> {
        self.find_original_in(req, kinds, false)
    }

    /// The live original a request names (37, 38, 61), of one of `kinds`, on the same card.
    /// `same_batch`: a void (消费撤销, 预授权完成撤销) only reaches its batch: once a batch is
    /// settled its transactions are final and can only be refunded (seed 6.3.2; digest §4).
    fn find_original_in(
        &self,
        req: &Request,
        kinds: &[TxnKind],
        same_batch: bool,
    ) -> Option<usize> {
        let o = &req.original;
        self.entries
            .iter()
            .rev()
            .find(|e| {
                kinds.contains(&e.kind)
                    && e.tid == req.tid
                    && matches!(e.state, EntryState::Approved | EntryState::Adjusted)
                    && (!same_batch || e.batch == req.batch)
                    && (req.pan.is_empty() || e.pan.is_empty() || e.pan == req.pan)
                    && o.rrn.as_ref().is_none_or(|r| *r == e.rrn)
                    && o.auth_code
                        .as_ref()
                        .is_none_or(|a| e.auth_code.as_deref() == Some(a.trim()))
                    && o.stan
                        .as_ref()
                        .is_none_or(|s| *s == e.stan || s.chars().all(|c| c == '0'))
                    && o.batch
                        .as_ref()
                        .is_none_or(|b| *b == e.batch || b.chars().all(|c| c == '0'))
                    && o.date
                        .as_ref()
                        .is_none_or(|d| *d == e.date || d.chars().all(|c| c == '0'))
            })
            .map(|e| e.id)
    }

    /// Why `find_original_in` found nothing, in words for the transcript: the entry the
    /// request names by its RRN or trace exists but is no longer live, is in a settled batch,
    /// or is another card's.
    fn why_no_original(&self, req: &Request, kinds: &[TxnKind], same_batch: bool) -> String {
        let o = &req.original;
        let named = self.entries.iter().rev().find(|e| {
            kinds.contains(&e.kind)
                && e.tid == req.tid
                && e.state != EntryState::Declined
                && (o.rrn.as_ref().is_some_and(|r| *r == e.rrn)
                    || (o.rrn.is_none()
                        && o.stan.as_ref().is_some_and(|s| *s == e.stan)
                        && o.batch.as_ref().is_none_or(|b| *b == e.batch)))
        });
        match named {
            None => "original transaction not found (37/38/61)".into(),
            Some(e) if e.state == EntryState::Voided => format!(
                "original {} trace {} was already voided",
                e.kind.id(),
                e.stan
            ),
            Some(e) if e.state == EntryState::Reversed => {
                format!("original {} trace {} was reversed", e.kind.id(), e.stan)
            }
            Some(e) if e.state == EntryState::Completed => format!(
                "original {} trace {} was already completed",
                e.kind.id(),
                e.stan
            ),
            Some(e) if same_batch && e.batch != req.batch => format!(
                "original {} trace {} is in batch {}, settled: a void only reaches the current batch {} (refund instead)",
                e.kind.id(),
                e.stan,
                e.batch,
                req.batch
            ),
            Some(e) if !req.pan.is_empty() && e.pan != req.pan => format!(
                "original {} trace {} was made with another card",
                e.kind.id(),
                e.stan
            ),
            Some(e) => format!(
                "original {} trace {} does not match 37/38/61 of the request",
                e.kind.id(),
                e.stan
            ),
        }
    }

    /// Decide a financial request and book it.
    pub fn authorise(&mut self, req: &Request) -> Outcome {
        use TxnKind::*;
        if self.live_by_stan(&req.tid, &req.batch, &req.stan).is_some() {
            return Outcome::decline(
                "94",
                format!(
                    "duplicate: trace {} already answered in batch {}",
                    req.stan, req.batch
                ),
            );
        }
        let Some(account) = self.accounts.get(&req.pan).cloned() else {
            return self.book_decline(req, "14", "card number not on file");
        };
        if let Some(code) = account.status.decline_code() {
            return self.book_decline(req, code, format!("card status {:?}", account.status));
        }
        if req.pin_ok == Some(false) {
            return self.book_decline(req, "55", "PIN block does not verify");
        }
        let foreign = account.is_foreign();
        let available = account.balance - account.held;
        let (original, delta, hold): (Option<usize>, i64, i64) = match req.kind {
            BalanceInquiry => (None, 0, 0),
            Purchase | OfflineSettlement => {
                if (req.amount as i64) > available {
                    return self.book_decline(
                        req,
                        "51",
                        format!("amount {} > available {available}", req.amount),
                    );
                }
                (None, -(req.amount as i64), 0)
            }
            PreAuth => {
                if (req.amount as i64) > available {
                    return self.book_decline(
                        req,
                        "51",
                        format!("amount {} > available {available}", req.amount),
                    );
                }
                (None, 0, req.amount as i64)
            }
            PurchaseVoid | CompletionVoid => {
                let target = if req.kind == PurchaseVoid {
                    Purchase
                } else {
                    CompletionRequest
                };
                let Some(orig) = self.find_original_in(req, &[target], true) else {
                    let why = self.why_no_original(req, &[target], true);
                    return self.book_decline(req, "25", why);
                };
                let o = &self.entries[orig];
                if o.amount != req.amount {
                    return self.book_decline(
                        req,
                        "64",
                        format!("amount {} differs from original {}", req.amount, o.amount),
                    );
                }
                (Some(orig), (o.amount + o.tip) as i64, 0)
            }
            Refund => {
                let Some(orig) = self.find_original(
                    req,
                    &[
                        Purchase,
                        CompletionRequest,
                        CompletionNotice,
                        OfflineSettlement,
                    ],
                ) else {
                    return self.book_decline(
                        req,
                        "25",
                        "original transaction not found (37/61.3)",
                    );
                };
                let refunded: u64 = self
                    .entries
                    .iter()
                    .filter(|e| {
                        e.kind == Refund
                            && e.original == Some(orig)
                            && e.state == EntryState::Approved
                    })
                    .map(|e| e.amount)
                    .sum();
                let o = &self.entries[orig];
                if refunded + req.amount > o.amount {
                    return self.book_decline(
                        req,
                        "61",
                        format!(
                            "refunds {} + {} exceed original {}",
                            refunded, req.amount, o.amount
                        ),
                    );
                }
                (Some(orig), req.amount as i64, 0)
            }
            PreAuthVoid => {
                let Some(orig) = self.find_original(req, &[PreAuth]) else {
                    return self.book_decline(req, "25", "pre-authorisation not found (38/61.3)");
                };
                (Some(orig), 0, -(self.entries[orig].amount as i64))
            }
            CompletionRequest | CompletionNotice => {
                let Some(orig) = self.find_original(req, &[PreAuth]) else {
                    return self.book_decline(req, "25", "pre-authorisation not found (38/61.3)");
                };
                let pre = self.entries[orig].amount;
                // Completion may exceed the pre-auth by at most 15 % (common acquirer rule).
                if req.amount > pre + pre * 15 / 100 {
                    return self.book_decline(
                        req,
                        "13",
                        format!("completion {} exceeds pre-auth {pre} + 15 %", req.amount),
                    );
                }
                (Some(orig), -(req.amount as i64), -(pre as i64))
            }
            Adjust | AdjustTip => {
                let Some(orig) =
                    self.find_original(req, &[Purchase, OfflineSettlement, CompletionRequest])
                else {
                    return self.book_decline(req, "25", "original transaction not found (37/61)");
                };
                let o = &self.entries[orig];
                let delta = if req.kind == AdjustTip {
                    -(req.tip as i64)
                } else {
                    o.amount as i64 - req.amount as i64
                };
                (Some(orig), delta, 0)
            }
            _ => {
                return Outcome::decline(
                    "12",
                    format!("{} is not a financial transaction", req.kind.id()),
                )
            }
        };
        if let Some(acct) = self.accounts.get_mut(&req.pan) {
            acct.balance += delta;
            acct.held += hold;
        }
        if let Some(orig) = original {
            let new_state = match req.kind {
                PurchaseVoid | CompletionVoid | PreAuthVoid => Some(EntryState::Voided),
                CompletionRequest | CompletionNotice => Some(EntryState::Completed),
                Adjust | AdjustTip => Some(EntryState::Adjusted),
                _ => None,
            };
            if let Some(s) = new_state {
                self.entries[orig].state = s;
            }
        }
        let rrn = self.rrn(&req.time);
        let auth_code = match req.kind {
            BalanceInquiry | Refund | PurchaseVoid | CompletionVoid => None,
            // An offline transaction was authorised before it reached the centre (by phone,
            // or by the original it adjusts): its code is the terminal's, never replaced.
            OfflineSettlement | Adjust | AdjustTip | CompletionNotice
                if req.offline && req.original.auth_code.is_some() =>
            {
                req.original.auth_code.clone()
            }
            _ => Some(self.auth_code()),
        };
        let balance = self.accounts.get(&req.pan).map(|a| a.balance - a.held);
        let id = self.book(
            req,
            "00",
            EntryState::Approved,
            rrn.clone(),
            auth_code.clone(),
            original,
            foreign,
        );
        Outcome {
            code: "00",
            entry: Some(id),
            rrn: Some(rrn),
            auth_code,
            balance,
            reason: "approved".into(),
        }
    }

    /// Record an answered request; returns its entry id.
    #[allow(clippy::too_many_arguments)]
    fn book(
        &mut self,
        req: &Request,
        code: &str,
        state: EntryState,
        rrn: String,
        auth_code: Option<String>,
        original: Option<usize>,
        foreign: bool,
    ) -> usize {
        let id = self.entries.len();
        self.push(Entry {
            id,
            tid: req.tid.clone(),
            batch: req.batch.clone(),
            stan: req.stan.clone(),
            kind: req.kind,
            pan: req.pan.clone(),
            amount: req.amount,
            tip: req.tip,
            rrn,
            auth_code,
            date: req.date.clone(),
            time: req.time.clone(),
            code: code.into(),
            state,
            original,
            offline: req.offline,
            foreign,
            uploaded: false,
        });
        id
    }

    fn book_decline(
        &mut self,
        req: &Request,
        code: &'static str,
        reason: impl Into<String>,
    ) -> Outcome {
        let rrn = self.rrn(&req.time);
        let foreign = self.accounts.get(&req.pan).is_some_and(Account::is_foreign);
        let id = self.book(
            req,
            code,
            EntryState::Declined,
            rrn.clone(),
            None,
            None,
            foreign,
        );
        Outcome {
            code,
            entry: Some(id),
            rrn: Some(rrn),
            auth_code: None,
            balance: None,
            reason: reason.into(),
        }
    }

    /// Undo the approved transaction with this trace number, exactly once.
    /// `12` for a second reversal of the same transaction, `25` when there is nothing to reverse
    /// (both end the terminal's reversal, per the tables' 00/12/25 rule).
    pub fn reverse(&mut self, tid: &str, batch: &str, stan: &str, amount: u64) -> Outcome {
        self.reverse_kind(tid, batch, stan, None, amount)
    }

    /// [`Journal::reverse`] for a reversal that names its original's transaction (0400 60.1):
    /// - a kind that is never reversed (refund, offline, balance inquiry: digest §8 "Refund,
    ///   offline, balance inquiry are not reversed") is refused with `12` (invalid transaction)
    ///   and changes nothing: a reversal must never undo what it cannot restore;
    /// - a trace whose entry is another kind is `25` (no such original);
    /// - an original that a later void, completion, adjust or refund already built on is `12`:
    ///   undoing it would give the money back twice. Journal and balances stay as they are.
    pub fn reverse_kind(
        &mut self,
        tid: &str,
        batch: &str,
        stan: &str,
        kind: Option<TxnKind>,
        amount: u64,
    ) -> Outcome {
        if let Some(k) = kind.filter(|k| !k.is_reversible()) {
            return Outcome::decline("12", format!("a {} is not reversible (digest §8)", k.id()));
        }
        let found = self.stan_ids(tid, batch, stan).next_back().map(|i| {
            let e = &self.entries[i];
            (e.id, e.state, e.amount, e.kind)
        });
        let Some((id, state, orig_amount, orig_kind)) = found else {
            return Outcome::decline(
                "25",
                format!("no transaction with trace {stan} in batch {batch} to reverse"),
            );
        };
        if let Some(k) = kind.filter(|k| *k != orig_kind) {
            return Outcome::decline(
                "25",
                format!(
                    "trace {stan} is a {}, not the {} this reversal names",
                    orig_kind.id(),
                    k.id()
                ),
            );
        }
        if !orig_kind.is_reversible() {
            return Outcome::decline(
                "12",
                format!(
                    "trace {stan} is a {}, which is not reversible (digest §8)",
                    orig_kind.id()
                ),
            );
        }
        match state {
            EntryState::Reversed => {
                return Outcome::decline("12", format!("trace {stan} was already reversed"))
            }
            EntryState::Declined => {
                self.entries[id].state = EntryState::Reversed;
                let mut o = Outcome::decline("00", "original was declined: nothing to undo");
                o.entry = Some(id);
                return o;
            }
            EntryState::Voided | EntryState::Completed | EntryState::Adjusted => {
                return Outcome::decline(
                    "12",
                    format!(
                        "trace {stan} was since {}: reversing it would undo it twice",
                        match state {
                            EntryState::Voided => "voided",
                            EntryState::Completed => "completed",
                            _ => "adjusted",
                        }
                    ),
                )
            }
            EntryState::Approved => {}
        }
        if let Some(dep) = self.entries.iter().find(|e| {
            e.original == Some(id)
                && matches!(
                    e.state,
                    EntryState::Approved | EntryState::Adjusted | EntryState::Voided
                )
        }) {
            return Outcome::decline(
                "12",
                format!(
                    "trace {stan} has a later {} (trace {}) built on it",
                    dep.kind.id(),
                    dep.stan
                ),
            );
        }
        if orig_amount != amount {
            return Outcome::decline(
                "64",
                format!("reversal amount {amount} differs from original {orig_amount}"),
            );
        }
        let e = self.entries[id].clone();
        let (delta, hold) = match e.kind {
            TxnKind::Purchase | TxnKind::OfflineSettlement => (e.amount as i64, 0),
            TxnKind::PreAuth => (0, -(e.amount as i64)),
            TxnKind::PurchaseVoid | TxnKind::CompletionVoid => (-((e.amount) as i64), 0),
            TxnKind::PreAuthVoid => (0, e.original.map_or(0, |o| self.entries[o].amount as i64)),
            TxnKind::CompletionRequest => (
                e.amount as i64,
                e.original.map_or(0, |o| self.entries[o].amount as i64),
            ),
            _ => (0, 0),
        };
        if let Some(acct) = self.accounts.get_mut(&e.pan) {
            acct.balance += delta;
            acct.held += hold;
        }
        // The original of a void or completion becomes live again.
        if let Some(o) = e.original {
            if matches!(
                e.kind,
                TxnKind::PurchaseVoid
                    | TxnKind::CompletionVoid
                    | TxnKind::PreAuthVoid
                    | TxnKind::CompletionRequest
            ) {
                self.entries[o].state = EntryState::Approved;
            }
        }
        self.entries[id].state = EntryState::Reversed;
        let mut o = Outcome::decline("00", format!("reversed {} of {}", e.kind.id(), e.amount));
        o.entry = Some(id);
        o.balance = self.accounts.get(&e.pan).map(|a| a.balance - a.held);
        o
    }

    /// Settlement totals of a terminal's batch: (RMB, foreign). Debit = purchase, completion,
    /// offline settlement, adjust; credit = refund, purchase void, completion void. An adjusted
    /// original counts only through its adjustment.
    pub fn totals(&self, tid: &str, batch: &str) -> (Totals, Totals) {
        let mut rmb = Totals::default();
        let mut foreign = Totals::default();
        for e in self
            .entries
            .iter()
            .filter(|e| e.tid == tid && e.batch == batch)
        {
            if !matches!(
                e.state,
                EntryState::Approved
                    | EntryState::Voided
                    | EntryState::Completed
                    | EntryState::Adjusted
            ) {
                continue;
            }
            let t = if e.foreign { &mut foreign } else { &mut rmb };
            use TxnKind::*;
            match e.kind {
                Purchase | CompletionRequest | CompletionNotice | OfflineSettlement
                    if e.state != EntryState::Adjusted =>
                {
                    t.debit_amount += e.amount;
                    t.debit_count += 1;
                }
                Adjust | AdjustTip => {
                    t.debit_amount += e.amount + e.tip;
                    t.debit_count += 1;
                }
                Refund | PurchaseVoid | CompletionVoid => {
                    t.credit_amount += e.amount;
                    t.credit_count += 1;
                }
                _ => {}
            }
        }
        (rmb, foreign)
    }

    /// Mark an entry reported in a batch upload; `false` when no such approved entry exists.
    pub fn mark_uploaded(&mut self, tid: &str, batch: &str, stan: &str, amount: u64) -> bool {
        match self.entries.iter_mut().rev().find(|e| {
            e.tid == tid
                && e.batch == batch
                && e.stan == stan
                && e.state != EntryState::Declined
                && e.state != EntryState::Reversed
        }) {
            Some(e) if e.amount == amount => {
                e.uploaded = true;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAN: &str = "6225881234567890";

    fn journal() -> Journal {
        Journal::new([
            Account {
                pan: PAN.into(),
                balance: 10_000,
                status: CardStatus::Active,
                expiry: "2512".into(),
                currency: "156".into(),
                card_org: "CUP".into(),
                held: 0,
            },
            Account {
                pan: "4111111111111111".into(),
                balance: 50_000,
                status: CardStatus::Active,
                expiry: "2812".into(),
                currency: "840".into(),
                card_org: "VIS".into(),
                held: 0,
            },
            Account {
                pan: "6225880000000001".into(),
                balance: 1,
                status: CardStatus::Lost,
                expiry: "2512".into(),
                currency: "156".into(),
                card_org: "CUP".into(),
                held: 0,
            },
        ])
    }

    fn req(kind: TxnKind, stan: &str, amount: u64) -> Request {
        Request {
            tid: "12345678".into(),
            batch: "000001".into(),
            stan: stan.into(),
            kind,
            pan: PAN.into(),
            amount,
            pin_ok: Some(true),
            original: OriginalRef::default(),
            tip: 0,
            offline: false,
            date: "1123".into(),
            time: "103000".into(),
        }
    }

    #[test]
    fn purchase_then_void_restores_the_balance_and_voids_only_once() {
        let mut j = journal();
        let p = j.authorise(&req(TxnKind::Purchase, "000001", 2_500));
        assert_eq!(p.code, "00");
        assert_eq!(p.balance, Some(7_500));
        let mut v = req(TxnKind::PurchaseVoid, "000002", 2_500);
        v.original = OriginalRef {
            rrn: p.rrn.clone(),
            batch: Some("000001".into()),
            stan: Some("000001".into()),
            ..Default::default()
        };
        assert_eq!(j.authorise(&v).code, "00");
        assert_eq!(j.account(PAN).unwrap().balance, 10_000);
        let mut again = v.clone();
        again.stan = "000003".into();
        assert_eq!(
            j.authorise(&again).code,
            "25",
            "the original is already voided"
        );
    }

    #[test]
    fn declines_come_from_state() {
        let mut j = journal();
        assert_eq!(
            j.authorise(&req(TxnKind::Purchase, "000001", 20_000)).code,
            "51"
        );
        let mut bad_pin = req(TxnKind::Purchase, "000002", 100);
        bad_pin.pin_ok = Some(false);
        assert_eq!(j.authorise(&bad_pin).code, "55");
        let mut lost = req(TxnKind::Purchase, "000003", 100);
        lost.pan = "6225880000000001".into();
        assert_eq!(j.authorise(&lost).code, "41");
        let mut unknown = req(TxnKind::Purchase, "000004", 100);
        unknown.pan = "6225889999999999".into();
        assert_eq!(j.authorise(&unknown).code, "14");
        let mut void = req(TxnKind::PurchaseVoid, "000005", 100);
        void.original.rrn = Some("999999999999".into());
        assert_eq!(j.authorise(&void).code, "25");
    }

    #[test]
    fn duplicates_are_94_and_reversal_undoes_exactly_once() {
        let mut j = journal();
        assert_eq!(
            j.authorise(&req(TxnKind::Purchase, "000007", 1_000)).code,
            "00"
        );
        assert_eq!(
            j.authorise(&req(TxnKind::Purchase, "000007", 1_000)).code,
            "94"
        );
        assert_eq!(j.reverse("12345678", "000001", "000007", 1_000).code, "00");
        assert_eq!(j.account(PAN).unwrap().balance, 10_000);
        assert_eq!(j.reverse("12345678", "000001", "000007", 1_000).code, "12");
        assert_eq!(
            j.account(PAN).unwrap().balance,
            10_000,
            "second reversal changes nothing"
        );
        assert_eq!(j.reverse("12345678", "000001", "000099", 1_000).code, "25");
    }

    #[test]
    fn refunds_cannot_exceed_the_original() {
        let mut j = journal();
        let p = j.authorise(&req(TxnKind::Purchase, "000001", 1_000));
        let mut r = req(TxnKind::Refund, "000002", 600);
        r.original = OriginalRef {
            rrn: p.rrn.clone(),
            date: Some("1123".into()),
            ..Default::default()
        };
        assert_eq!(j.authorise(&r).code, "00");
        let mut r2 = r.clone();
        r2.stan = "000003".into();
        assert_eq!(j.authorise(&r2).code, "61");
        r2.stan = "000004".into();
        r2.amount = 400;
        assert_eq!(j.authorise(&r2).code, "00");
    }

    #[test]
    fn pre_auth_holds_and_completion_releases() {
        let mut j = journal();
        let pa = j.authorise(&req(TxnKind::PreAuth, "000001", 4_000));
        assert_eq!(pa.balance, Some(6_000));
        let mut c = req(TxnKind::CompletionRequest, "000002", 4_500);
        c.original = OriginalRef {
            auth_code: pa.auth_code.clone(),
            date: Some("1123".into()),
            ..Default::default()
        };
        assert_eq!(j.authorise(&c).code, "00");
        assert_eq!(j.account(PAN).unwrap().balance, 5_500);
        assert_eq!(j.account(PAN).unwrap().held, 0);
        let mut too_much = req(TxnKind::CompletionRequest, "000003", 9_000);
        too_much.original.auth_code = pa.auth_code.clone();
        assert_eq!(
            j.authorise(&too_much).code,
            "25",
            "the pre-auth is already completed"
        );
    }

    #[test]
    fn totals_follow_the_settlement_rules() {
        let mut j = journal();
        let p1 = j.authorise(&req(TxnKind::Purchase, "000001", 1_000));
        j.authorise(&req(TxnKind::Purchase, "000002", 2_000));
        let mut v = req(TxnKind::PurchaseVoid, "000003", 1_000);
        v.original.rrn = p1.rrn.clone();
        j.authorise(&v);
        j.authorise(&req(TxnKind::Purchase, "000004", 300));
        j.reverse("12345678", "000001", "000004", 300);
        let mut visa = req(TxnKind::Purchase, "000005", 700);
        visa.pan = "4111111111111111".into();
        j.authorise(&visa);
        let (rmb, foreign) = j.totals("12345678", "000001");
        // Voided purchases still count as debits, their voids as credits; reversed ones vanish.
        assert_eq!((rmb.debit_amount, rmb.debit_count), (3_000, 2));
        assert_eq!((rmb.credit_amount, rmb.credit_count), (1_000, 1));
        assert_eq!((foreign.debit_amount, foreign.debit_count), (700, 1));
        assert!(j.mark_uploaded("12345678", "000001", "000002", 2_000));
        assert!(
            !j.mark_uploaded("12345678", "000001", "000004", 300),
            "reversed entries are not uploadable"
        );
    }
}
