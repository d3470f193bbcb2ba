//! The manual driver: an operator performs each step on the terminal under test, following
//! prompts, and types what the terminal showed. The centre still records and judges every
//! message, so a manual session is checked exactly like an automated one.

use std::net::SocketAddr;

use super::{CardInput, Outcome, Terminal, TerminalError};
use crate::iso8583::mask::mask_pan;
use crate::suite::exec::{Operator, OperatorGone};

/// The operator is gone: an error no step accepts (never a conformant refusal).
fn gone(e: OperatorGone) -> TerminalError {
    TerminalError::Internal(e.to_string())
}

pub struct ManualTerminal<'a> {
    op: &'a mut dyn Operator,
    host: SocketAddr,
    display: String,
    told_host: bool,
}

impl<'a> ManualTerminal<'a> {
    pub fn new(op: &'a mut dyn Operator, host: SocketAddr) -> ManualTerminal<'a> {
        ManualTerminal {
            op,
            host,
            display: String::new(),
            told_host: false,
        }
    }

    /// Ask for an action; the answer is the response code shown (or `refused`/`none`).
    fn act(&mut self, zh: String, en: String) -> Result<Outcome, TerminalError> {
        if !self.told_host {
            self.told_host = true;
            self.op
                .ask(
                    &format!("请将终端主机地址设为 {}", self.host),
                    &format!(
                        "point the terminal at the centre {} and answer yes",
                        self.host
                    ),
                )
                .map_err(gone)?;
        }
        let a = self
            .op
            .ask(
                &format!("{zh}；输入终端显示的应答码(无应答输入 none，终端拒绝输入 refused)"),
                &format!("{en}; type the response code shown (none = no answer, refused = the terminal refused)"),
            )
            .map_err(gone)?;
        self.display = a.clone();
        match a.to_ascii_lowercase().as_str() {
            "refused" => Err(TerminalError::Refused(
                "the operator reported a refusal".into(),
            )),
            "none" => Ok(Outcome {
                code: None,
                display: a,
            }),
            code => Ok(Outcome {
                code: Some(code.to_uppercase()),
                display: a,
            }),
        }
    }

    fn yes(&mut self, zh: &str, en: &str) -> Result<(), TerminalError> {
        let a = self.op.ask(zh, en).map_err(gone)?;
        if a.eq_ignore_ascii_case("yes") || a.eq_ignore_ascii_case("y") {
            Ok(())
        } else {
            Err(TerminalError::Refused(format!("operator answered {a:?}")))
        }
    }
}

fn card_text(c: &CardInput) -> String {
    format!("{} (PAN {})", c.expiry, mask_pan(&c.pan))
}

fn yuan(fen: u64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

impl Terminal for ManualTerminal<'_> {
    async fn power_on(&mut self) -> Result<Outcome, TerminalError> {
        self.act(
            "关闭并重新打开终端电源".into(),
            "switch the terminal off and on".into(),
        )
    }
    async fn operator_sign_in(
        &mut self,
        code: &str,
        password: &str,
    ) -> Result<Outcome, TerminalError> {
        self.act(
            format!("操作员签到: 操作员 {code} 密码 {password}"),
            format!("operator sign-in: operator {code}, password {password}"),
        )
    }
    async fn pos_sign_in(&mut self) -> Result<Outcome, TerminalError> {
        self.act("执行POS签到".into(), "perform POS sign-in".into())
    }
    async fn balance_inquiry(&mut self, card: &CardInput) -> Result<Outcome, TerminalError> {
        self.act(
            format!("用测试卡 {} 做余额查询", card_text(card)),
            format!("balance inquiry with test card {}", card_text(card)),
        )
    }
    async fn purchase(&mut self, card: &CardInput, amount: u64) -> Result<Outcome, TerminalError> {
        self.act(
            format!("用测试卡 {} 消费 {} 元", card_text(card), yuan(amount)),
            format!(
                "purchase of {} CNY with test card {}",
                yuan(amount),
                card_text(card)
            ),
        )
    }
    async fn void(
        &mut self,
        card: &CardInput,
        voucher: &str,
        _sup: &str,
    ) -> Result<Outcome, TerminalError> {
        self.act(
            format!("撤消凭证号 {voucher} 的消费(卡 {})", card_text(card)),
            format!(
                "void the purchase with voucher {voucher} (card {})",
                card_text(card)
            ),
        )
    }
    async fn refund(
        &mut self,
        card: &CardInput,
        amount: u64,
        rrn: &str,
        date: &str,
        _sup: &str,
    ) -> Result<Outcome, TerminalError> {
        self.act(
            format!("退货 {} 元: 原参考号 {rrn} 原日期 {date}", yuan(amount)),
            format!(
                "refund {} CNY: original ref. {rrn}, date {date} (card {})",
                yuan(amount),
                card_text(card)
            ),
        )
    }
    async fn pre_auth(&mut self, card: &CardInput, amount: u64) -> Result<Outcome, TerminalError> {
        self.act(
            format!("预授权 {} 元(卡 {})", yuan(amount), card_text(card)),
            format!(
                "pre-authorisation of {} CNY (card {})",
                yuan(amount),
                card_text(card)
            ),
        )
    }
    async fn pre_auth_void(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth: &str,
        date: &str,
    ) -> Result<Outcome, TerminalError> {
        self.act(
            format!("预授权撤消 {} 元: 授权码 {auth} 日期 {date}", yuan(amount)),
            format!(
                "pre-auth void of {} CNY: auth code {auth}, date {date} (card {})",
                yuan(amount),
                card_text(card)
            ),
        )
    }
    async fn completion(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth: &str,
        date: &str,
    ) -> Result<Outcome, TerminalError> {
        self.act(
            format!("预授权完成 {} 元: 授权码 {auth} 日期 {date}", yuan(amount)),
            format!(
                "completion of {} CNY: auth code {auth}, date {date} (card {})",
                yuan(amount),
                card_text(card)
            ),
        )
    }
    async fn completion_void(
        &mut self,
        card: &CardInput,
        voucher: &str,
        _sup: &str,
    ) -> Result<Outcome, TerminalError> {
        self.act(
            format!("撤消凭证号 {voucher} 的预授权完成"),
            format!(
                "void the completion with voucher {voucher} (card {})",
                card_text(card)
            ),
        )
    }
    async fn settle(&mut self) -> Result<(char, char), TerminalError> {
        let a = self.op.ask(
            "执行结算；输入内卡和外卡对帐结果(1平 2不平 3出错)，如 11",
            "settle; type the RMB and foreign reconciliation results (1 balanced, 2 unbalanced, 3 error), e.g. 11",
        ).map_err(gone)?;
        let mut c = a.chars();
        match (c.next(), c.next()) {
            (Some(x), Some(y)) => Ok((x, y)),
            _ => Err(TerminalError::Refused(format!("operator answered {a:?}"))),
        }
    }
    async fn sign_off(&mut self) -> Result<Outcome, TerminalError> {
        self.act("执行签退".into(), "sign off".into())
    }
    async fn echo_test(&mut self) -> Result<Outcome, TerminalError> {
        self.act("执行回响测试".into(), "run the echo test".into())
    }
    fn set_test_mode(&mut self, on: bool) -> Result<(), TerminalError> {
        let (zh, en) = if on {
            (
                "进入测试状态，完成后输入 yes",
                "enter the test state, then answer yes",
            )
        } else {
            (
                "退出测试状态，完成后输入 yes",
                "leave the test state, then answer yes",
            )
        };
        self.yes(zh, en)
    }
    async fn offline_settlement(
        &mut self,
        card: &CardInput,
        amount: u64,
        auth: &str,
    ) -> Result<Outcome, TerminalError> {
        self.yes(
            &format!("做离线结算 {} 元，授权码 {auth}，完成后输入 yes", yuan(amount)),
            &format!("enter an offline settlement of {} CNY, auth code {auth} (card {}), then answer yes", yuan(amount), card_text(card)),
        )?;
        Ok(Outcome {
            code: None,
            display: "stored".into(),
        })
    }
    async fn adjust(
        &mut self,
        voucher: &str,
        amount: u64,
        tip: u64,
    ) -> Result<Outcome, TerminalError> {
        self.yes(
            &format!(
                "调整凭证号 {voucher}: 新金额 {} 小费 {}，完成后输入 yes",
                yuan(amount),
                yuan(tip)
            ),
            &format!(
                "adjust voucher {voucher}: new amount {} tip {}, then answer yes",
                yuan(amount),
                yuan(tip)
            ),
        )?;
        Ok(Outcome {
            code: None,
            display: "stored".into(),
        })
    }
    async fn download_parameters(&mut self) -> Result<Outcome, TerminalError> {
        self.act("执行参数下载".into(), "download parameters".into())
    }
    fn lock(&mut self) -> Result<(), TerminalError> {
        self.yes(
            "锁定终端，完成后输入 yes",
            "lock the terminal, then answer yes",
        )
    }
    fn unlock(&mut self, password: &str) -> Result<(), TerminalError> {
        self.yes(
            &format!("用密码 {password} 解锁终端，成功输入 yes"),
            &format!("unlock the terminal with password {password}; answer yes if it unlocked"),
        )
    }
    fn read_display(&self) -> String {
        self.display.clone()
    }
    fn last_receipt(&self) -> Option<String> {
        None
    }
    fn take_printed(&mut self) -> Vec<String> {
        Vec::new()
    }
    async fn upload_status(&mut self) -> Result<Outcome, TerminalError> {
        self.act(
            "执行POS状态上送".into(),
            "upload the terminal status".into(),
        )
    }
    async fn reprint(&mut self) -> Result<Outcome, TerminalError> {
        self.act(
            "重打印上笔交易".into(),
            "reprint the last transaction".into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers from a script and keeps every question.
    struct Scripted {
        answers: std::collections::VecDeque<&'static str>,
        asked: Vec<String>,
    }

    impl Operator for Scripted {
        fn ask(&mut self, zh: &str, en: &str) -> Result<String, OperatorGone> {
            self.asked.push(format!("{zh} | {en}"));
            self.answers
                .pop_front()
                .map(str::to_string)
                .ok_or(OperatorGone)
        }
    }

    fn card() -> CardInput {
        CardInput {
            pan: "6225881234567890".into(),
            track2: "6225881234567890=2512".into(),
            expiry: "2512".into(),
            pin: Some("123456".into()),
        }
    }

    #[tokio::test]
    async fn prompts_mask_the_pan_and_answers_become_outcomes() {
        let mut op = Scripted {
            answers: ["yes", "00", "51", "none", "refused", "21", "yes"].into(),
            asked: Vec::new(),
        };
        let host: SocketAddr = "127.0.0.1:8000".parse().unwrap();
        let mut t = ManualTerminal::new(&mut op, host);
        let r = t.purchase(&card(), 12_345).await.unwrap();
        assert_eq!(r.code.as_deref(), Some("00"));
        assert_eq!(
            t.purchase(&card(), 100).await.unwrap().code.as_deref(),
            Some("51")
        );
        assert_eq!(t.echo_test().await.unwrap().code, None, "none = no answer");
        assert!(matches!(t.sign_off().await, Err(TerminalError::Refused(_))));
        assert_eq!(t.settle().await.unwrap(), ('2', '1'));
        t.set_test_mode(true).unwrap();
        // The console closed: an error, never an answer a step could accept.
        assert!(matches!(
            t.purchase(&card(), 100).await,
            Err(TerminalError::Internal(_))
        ));
        drop(t);
        assert!(
            op.asked[0].contains("127.0.0.1:8000"),
            "told where the centre is"
        );
        assert!(op.asked[1].contains("123.45") && op.asked[1].contains("622588******7890"));
        assert!(
            op.asked.iter().all(|q| !q.contains("6225881234567890")),
            "PAN masked"
        );
    }
}
