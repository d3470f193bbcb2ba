//! What transaction a message is, from MTI, processing code, 60.1 and 60.3 (digest §4).
//! The host, the checks and the decoder all name transactions through this one table.

use super::message::Message;

/// A transaction type of the CUP direct-connect message set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnKind {
    SignIn,
    SignOff,
    EchoTest,
    ParamDownload,
    StatusUpload,
    BalanceInquiry,
    Purchase,
    PurchaseVoid,
    Refund,
    PreAuth,
    PreAuthVoid,
    CompletionRequest,
    CompletionVoid,
    CompletionNotice,
    OfflineSettlement,
    Adjust,
    AdjustTip,
    Settlement,
    BatchUpload,
    BatchUploadEnd,
    Unknown,
}

impl TxnKind {
    /// Stable identifier for scripts and JSON.
    pub fn id(self) -> &'static str {
        use TxnKind::*;
        match self {
            SignIn => "sign_in",
            SignOff => "sign_off",
            EchoTest => "echo_test",
            ParamDownload => "param_download",
            StatusUpload => "status_upload",
            BalanceInquiry => "balance_inquiry",
            Purchase => "purchase",
            PurchaseVoid => "purchase_void",
            Refund => "refund",
            PreAuth => "pre_auth",
            PreAuthVoid => "pre_auth_void",
            CompletionRequest => "completion_request",
            CompletionVoid => "completion_void",
            CompletionNotice => "completion_notice",
            OfflineSettlement => "offline_settlement",
            Adjust => "adjust",
            AdjustTip => "adjust_tip",
            Settlement => "settlement",
            BatchUpload => "batch_upload",
            BatchUploadEnd => "batch_upload_end",
            Unknown => "unknown",
        }
    }

    pub fn name_zh(self) -> &'static str {
        use TxnKind::*;
        match self {
            SignIn => "签到",
            SignOff => "签退",
            EchoTest => "回响测试",
            ParamDownload => "参数传递",
            StatusUpload => "POS状态上送",
            BalanceInquiry => "余额查询",
            Purchase => "消费",
            PurchaseVoid => "消费撤销",
            Refund => "退货",
            PreAuth => "预授权",
            PreAuthVoid => "预授权撤销",
            CompletionRequest => "预授权完成(请求)",
            CompletionVoid => "预授权完成撤销",
            CompletionNotice => "预授权完成(通知)",
            OfflineSettlement => "离线结算",
            Adjust => "结算调整",
            AdjustTip => "结算调整(小费)",
            Settlement => "批结算",
            BatchUpload => "批上送",
            BatchUploadEnd => "批上送结束",
            Unknown => "未知交易",
        }
    }

    pub fn name_en(self) -> &'static str {
        use TxnKind::*;
        match self {
            SignIn => "POS sign-in",
            SignOff => "sign-off",
            EchoTest => "echo test",
            ParamDownload => "parameter download",
            StatusUpload => "status upload",
            BalanceInquiry => "balance inquiry",
            Purchase => "purchase",
            PurchaseVoid => "purchase void",
            Refund => "refund",
            PreAuth => "pre-authorisation",
            PreAuthVoid => "pre-authorisation void",
            CompletionRequest => "pre-auth completion (request)",
            CompletionVoid => "pre-auth completion void",
            CompletionNotice => "pre-auth completion (notice)",
            OfflineSettlement => "offline settlement",
            Adjust => "settlement adjust",
            AdjustTip => "settlement adjust (tip)",
            Settlement => "batch settlement",
            BatchUpload => "batch upload",
            BatchUploadEnd => "batch upload end",
            Unknown => "unknown transaction",
        }
    }

    /// 60.1 message type code of a financial transaction.
    pub fn type_code(self) -> Option<&'static str> {
        use TxnKind::*;
        Some(match self {
            BalanceInquiry => "01",
            PreAuth => "10",
            PreAuthVoid => "11",
            CompletionRequest => "20",
            CompletionVoid => "21",
            Purchase => "22",
            PurchaseVoid => "23",
            CompletionNotice => "24",
            Refund => "25",
            OfflineSettlement => "30",
            Adjust => "32",
            AdjustTip => "34",
            _ => return None,
        })
    }

    /// Whether the terminal must save a reversal before sending it (digest §8).
    pub fn is_reversible(self) -> bool {
        use TxnKind::*;
        matches!(
            self,
            Purchase | PurchaseVoid | PreAuth | PreAuthVoid | CompletionRequest | CompletionVoid
        )
    }

    pub fn from_type_code(code: &str) -> TxnKind {
        use TxnKind::*;
        match code {
            "01" => BalanceInquiry,
            "10" => PreAuth,
            "11" => PreAuthVoid,
            "20" => CompletionRequest,
            "21" => CompletionVoid,
            "22" => Purchase,
            "23" => PurchaseVoid,
            "24" => CompletionNotice,
            "25" => Refund,
            "30" => OfflineSettlement,
            "32" => Adjust,
            "34" => AdjustTip,
            _ => Unknown,
        }
    }
}

impl serde::Serialize for TxnKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// A message's transaction and whether it is a reversal of it (0400/0410).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    pub kind: TxnKind,
    pub reversal: bool,
}

impl Classified {
    pub fn name_zh(&self) -> String {
        if self.reversal {
            format!("{}冲正", self.kind.name_zh())
        } else {
            self.kind.name_zh().to_string()
        }
    }
    pub fn name_en(&self) -> String {
        if self.reversal {
            format!("{} reversal", self.kind.name_en())
        } else {
            self.kind.name_en().to_string()
        }
    }
}

/// Classify a request or response.
pub fn classify(msg: &Message) -> Classified {
    use TxnKind::*;
    let f60 = msg.text(60).unwrap_or("");
    let t601 = f60.get(0..2).unwrap_or("");
    let t603 = f60.get(8..11).unwrap_or("");
    // Normalise the response MTI to its request class (0210 -> 0200).
    let mti = msg.mti.as_str();
    let class = format!("{}{}0", &mti[..2], (mti.as_bytes()[2] - b'0') & !1);
    let kind = match class.as_str() {
        "0800" => match t603 {
            "001" | "003" | "004" => SignIn,
            "360" | "361" | "364" => ParamDownload,
            _ => Unknown,
        },
        "0820" => match t603 {
            "002" => SignOff,
            "301" => EchoTest,
            "362" => StatusUpload,
            _ => Unknown,
        },
        "0500" => Settlement,
        "0320" => match t603 {
            "202" | "207" => BatchUploadEnd,
            _ => BatchUpload,
        },
        "0100" | "0200" | "0220" | "0400" => TxnKind::from_type_code(t601),
        _ => Unknown,
    };
    Classified {
        kind,
        reversal: class == "0400",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iso8583::message::Mti;

    fn msg(mti: &str, f60: &str) -> Message {
        Message::new(Mti::parse(mti).unwrap()).with(60, f60)
    }

    #[test]
    fn classifies_the_message_set() {
        assert_eq!(classify(&msg("0800", "00000001004")).kind, TxnKind::SignIn);
        assert_eq!(classify(&msg("0810", "00000001001")).kind, TxnKind::SignIn);
        assert_eq!(
            classify(&msg("0830", "00000001301")).kind,
            TxnKind::EchoTest
        );
        assert_eq!(classify(&msg("0210", "22000001")).kind, TxnKind::Purchase);
        assert_eq!(classify(&msg("0220", "25000001")).kind, TxnKind::Refund);
        assert_eq!(
            classify(&msg("0330", "00000001207")).kind,
            TxnKind::BatchUploadEnd
        );
        let r = classify(&msg("0400", "23000001"));
        assert_eq!((r.kind, r.reversal), (TxnKind::PurchaseVoid, true));
        assert_eq!(r.name_en(), "purchase void reversal");
        assert!(TxnKind::Purchase.is_reversible());
        assert!(!TxnKind::Refund.is_reversible());
        assert_eq!(TxnKind::Refund.type_code(), Some("25"));
    }
}
