//! Response handling (appendix 3 of seed 001, 对应答码的处理): what the terminal must do after
//! an answer, judged from what it sent next.

use super::{FrameRec, Rule, Transcript, Violation};
use crate::iso8583::frame::ProcessingRequest;
use crate::iso8583::txn::classify;

/// After 99 or A0 (key or MAC trouble), 77 (batch mismatch) or a header asking for a new
/// sign-in, no financial transaction may be sent before a POS sign-in (0800, 60.3 = 00x).
pub struct SignInAgainAfter;

fn is_new_transaction(f: &FrameRec) -> bool {
    matches!(f.message.mti.as_str(), "0100" | "0200" | "0220") && !classify(&f.message).reversal
}

fn is_sign_in(f: &FrameRec) -> bool {
    f.message.mti.as_str() == "0800"
        && f.message
            .text(60)
            .and_then(|s| s.get(8..10))
            .is_some_and(|c| c == "00")
}

impl Rule for SignInAgainAfter {
    fn id(&self) -> &'static str {
        "response.sign_in_again"
    }
    fn requirement(&self) -> &'static str {
        "A3"
    }
    fn title(&self) -> &'static str {
        "after 99, A0, 77 or a header asking for sign-in, the terminal signs in before its next transaction"
    }
    fn check(&self, t: &Transcript, out: &mut Vec<Violation>) {
        let tid_of = |f: &FrameRec| f.tid();
        for resp in t
            .frames
            .iter()
            .filter(|f| f.dir == crate::transcript::Direction::Out)
        {
            let code = resp.message.text(39).unwrap_or("");
            let asks = resp
                .header
                .is_some_and(|h| h.processing_request() == ProcessingRequest::SignInAgain);
            let why = match code {
                "99" | "A0" => format!("39 = {code} (校验错,请重新签到)"),
                "77" => "39 = 77 (batch mismatch: 请向网络中心签到)".to_string(),
                _ if asks => "the header's processing requirement 3 (sign in again)".to_string(),
                _ => continue,
            };
            let tid = tid_of(resp);
            for next in t
                .requests()
                .filter(|r| r.seq > resp.seq && tid_of(r) == tid)
            {
                if is_sign_in(next) {
                    break;
                }
                if is_new_transaction(next) {
                    out.push(super::violation(
                        self,
                        Some(next),
                        Some("MTI"),
                        Some("0800 POS sign-in first".into()),
                        Some(format!("{} {}", next.message.mti, classify(&next.message).name_en())),
                        format!(
                            "after {why} (answer to trace {}), a transaction was sent before signing in again",
                            resp.stan().unwrap_or_default()
                        ),
                    ));
                    break;
                }
            }
        }
    }
}

pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![Box::new(SignInAgainAfter)]
}
