//! What a terminal shows for a response code: appendix 3 of seed 001 (对应答码的处理, the
//! 2004/2005 table). Checks compare behaviour by class, not exact text (acquirers redefine
//! texts), but the reference terminal shows the standard ones.

/// The appendix-3 display text for a response code; unknown codes show 交易失败 (note 1).
pub fn response_text(code: &str) -> &'static str {
    match code {
        "00" => "交易成功",
        "03" => "商户未登记",
        "04" | "07" | "34" | "35" | "37" => "没收卡,请联系收单行",
        "09" => "交易失败,请重试",
        "12" | "30" => "交易失败,请重试",
        "13" => "交易金额超限,请重试",
        "14" => "无效卡号,请联系发卡行",
        "15" | "31" => "此卡不能受理",
        "22" => "操作有误,请重试",
        "33" | "54" => "过期卡,请联系发卡行",
        "36" => "此卡有误,请换卡重试",
        "38" | "75" => "密码错误次数超限",
        "41" | "43" | "67" => "没收卡",
        "42" => "交易失败,请联系发卡方",
        "51" => "余额不足,请查询",
        "55" => "密码错,请重试",
        "58" => "终端无效,请联系收单行或银联",
        "61" => "金额太大",
        "65" => "超出取款次数限制",
        "66" => "请联系收单行或银联",
        "68" | "98" => "交易超时,请重试",
        "77" => "请向网络中心签到",
        "79" => "POS终端重传脱机数据",
        "90" | "91" | "92" | "94" | "95" | "96" => "交易失败,请稍后重试",
        "99" | "A0" => "校验错,请重新签到",
        "01" | "02" | "05" | "06" | "20" | "21" | "23" | "25" | "39" | "40" | "44" | "52"
        | "53" | "56" | "57" | "59" | "60" | "62" | "63" | "64" | "93" => "交易失败,请联系发卡行",
        _ => "交易失败",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appendix_three_texts() {
        assert_eq!(response_text("51"), "余额不足,请查询");
        assert_eq!(response_text("55"), "密码错,请重试");
        assert_eq!(response_text("A0"), "校验错,请重新签到");
        assert_eq!(response_text("77"), "请向网络中心签到");
        assert_eq!(response_text("Z9"), "交易失败");
    }
}
