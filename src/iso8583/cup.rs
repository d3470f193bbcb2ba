//! The CUP direct-connect POS dialect (Q/CUP 007 as tested by TDMT-20502), declared as data.
//!
//! Sources: `shared/spec/cup-direct-8583.md` §2–3. Fields the digest does not list keep their
//! ISO 8583:1987 type with the CUP encoding conventions (n → BCD, an/ans → ASCII), so a frame that
//! sets an unexpected bit still decodes and a check can say which bit was wrong.

use super::spec::{
    Align, Dialect, Encoding, FieldSpec, FieldType, LenKind, Sensitivity, SubFieldSpec,
};

use Align::{Left, Right};
use FieldType::{An, Ans, B, N, Z};
use LenKind::{Fixed, LlVar, LllVar};

const fn f(
    number: u8,
    name_zh: &'static str,
    name_en: &'static str,
    ftype: FieldType,
    len_kind: LenKind,
    max_len: u16,
) -> Option<FieldSpec> {
    let encoding = match ftype {
        N | Z => Encoding::Bcd,
        An | Ans => Encoding::Ascii,
        B => Encoding::Binary,
    };
    // Fixed numerics are right-aligned (pad first); variable BCD data is left-aligned.
    let align = match len_kind {
        Fixed => Right,
        _ => Left,
    };
    Some(FieldSpec {
        number,
        name_en,
        name_zh,
        ftype,
        len_kind,
        max_len,
        encoding,
        align,
        sensitivity: Sensitivity::None,
        subfields: &[],
    })
}

const fn sensitive(spec: Option<FieldSpec>, s: Sensitivity) -> Option<FieldSpec> {
    match spec {
        Some(mut x) => {
            x.sensitivity = s;
            Some(x)
        }
        None => None,
    }
}

const fn aligned(spec: Option<FieldSpec>, align: Align) -> Option<FieldSpec> {
    match spec {
        Some(mut x) => {
            x.align = align;
            Some(x)
        }
        None => None,
    }
}

const fn composite(
    spec: Option<FieldSpec>,
    subfields: &'static [SubFieldSpec],
) -> Option<FieldSpec> {
    match spec {
        Some(mut x) => {
            x.subfields = subfields;
            Some(x)
        }
        None => None,
    }
}

const fn sf(
    id: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
    len: u16,
) -> SubFieldSpec {
    SubFieldSpec {
        id,
        name_en,
        name_zh,
        len,
    }
}

/// 44: issuer and acquirer institution ids (an11 each).
pub const F44: &[SubFieldSpec] = &[
    sf("44.1", "发卡行标识码", "Issuer institution id", 11),
    sf("44.2", "收单机构标识码", "Acquirer institution id", 11),
];

/// 54: one balance entry (the field may repeat it; the first entry is split here).
pub const F54: &[SubFieldSpec] = &[
    sf("54.1", "账户类型", "Account type", 2),
    sf("54.2", "余额类型", "Amount type", 2),
    sf("54.3", "货币代码", "Currency code", 3),
    sf("54.4", "余额符号", "Balance sign (C/D)", 1),
    sf("54.5", "余额", "Balance amount", 12),
];

/// 60: message type code, batch, network management code, terminal capabilities.
pub const F60: &[SubFieldSpec] = &[
    sf("60.1", "交易类型码", "Message type code", 2),
    sf("60.2", "批次号", "Batch number", 6),
    sf("60.3", "网络管理信息码", "Network management code", 3),
    sf("60.4", "终端读取能力", "Terminal read capability", 1),
    sf("60.5", "IC卡条件代码", "IC condition code", 1),
    sf("60.6", "部分扣款标志", "Partial approval flag", 1),
    sf("60.7", "账户类型", "Account / loyalty type", 3),
    sf("60.8", "扩展数据", "Later-spec extension", 0),
];

/// 61: original transaction data.
pub const F61: &[SubFieldSpec] = &[
    sf("61.1", "原批次号", "Original batch number", 6),
    sf("61.2", "原POS流水号", "Original STAN", 6),
    sf("61.3", "原交易日期", "Original date (MMDD)", 4),
    sf("61.4", "原授权方式", "Original authorisation mode", 2),
    sf("61.5", "原授权机构", "Original authorising institution", 11),
];

/// 63: card organisation (request: operator code or card org) and free texts.
pub const F63: &[SubFieldSpec] = &[
    sf(
        "63.1",
        "国际信用卡公司代码/操作员号",
        "Card organisation / operator code",
        3,
    ),
    sf(
        "63.2",
        "自定义域",
        "Issuer / CUPS / acquirer information",
        0,
    ),
];

const fn table() -> [Option<FieldSpec>; 65] {
    let mut t: [Option<FieldSpec>; 65] = [None; 65];
    t[2] = sensitive(
        f(2, "主账号", "Primary account number", N, LlVar, 19),
        Sensitivity::Pan,
    );
    t[3] = f(3, "交易处理码", "Processing code", N, Fixed, 6);
    t[4] = f(4, "交易金额", "Amount, transaction", N, Fixed, 12);
    t[5] = f(5, "清算金额", "Amount, settlement", N, Fixed, 12);
    t[6] = f(
        6,
        "持卡人扣账金额",
        "Amount, cardholder billing",
        N,
        Fixed,
        12,
    );
    t[7] = f(
        7,
        "交易传输时间",
        "Transmission date and time",
        N,
        Fixed,
        10,
    );
    t[8] = f(
        8,
        "持卡人扣账费用",
        "Amount, cardholder billing fee",
        N,
        Fixed,
        8,
    );
    t[9] = f(9, "清算汇率", "Conversion rate, settlement", N, Fixed, 8);
    t[10] = f(
        10,
        "持卡人扣账汇率",
        "Conversion rate, cardholder billing",
        N,
        Fixed,
        8,
    );
    t[11] = f(
        11,
        "受卡方系统跟踪号",
        "System trace audit number",
        N,
        Fixed,
        6,
    );
    t[12] = f(
        12,
        "受卡方所在地时间",
        "Local transaction time (hhmmss)",
        N,
        Fixed,
        6,
    );
    t[13] = f(
        13,
        "受卡方所在地日期",
        "Local transaction date (MMDD)",
        N,
        Fixed,
        4,
    );
    t[14] = f(14, "卡有效期", "Expiration date (YYMM)", N, Fixed, 4);
    t[15] = f(15, "清算日期", "Settlement date (MMDD)", N, Fixed, 4);
    t[16] = f(16, "兑换日期", "Conversion date", N, Fixed, 4);
    t[17] = f(17, "获取日期", "Capture date", N, Fixed, 4);
    t[18] = f(18, "商户类型", "Merchant type", N, Fixed, 4);
    t[19] = f(
        19,
        "受理机构国家代码",
        "Acquiring institution country code",
        N,
        Fixed,
        3,
    );
    t[20] = f(
        20,
        "主账号扩展国家代码",
        "PAN extended country code",
        N,
        Fixed,
        3,
    );
    t[21] = f(
        21,
        "转发机构国家代码",
        "Forwarding institution country code",
        N,
        Fixed,
        3,
    );
    // CUP requires field 22 left-aligned ("021" -> 02 10).
    t[22] = aligned(
        f(22, "服务点输入方式码", "POS entry mode", N, Fixed, 3),
        Left,
    );
    t[23] = f(23, "卡序列号", "Card sequence number", N, Fixed, 3);
    t[24] = f(
        24,
        "网络国际标识符",
        "Network international identifier",
        N,
        Fixed,
        3,
    );
    t[25] = f(25, "服务点条件码", "POS condition code", N, Fixed, 2);
    t[26] = f(26, "服务点PIN获取码", "POS PIN capture code", N, Fixed, 2);
    t[27] = f(
        27,
        "授权标识应答码长度",
        "Authorisation id response length",
        N,
        Fixed,
        1,
    );
    t[28] = f(28, "交易费", "Amount, transaction fee", An, Fixed, 9);
    t[29] = f(29, "清算费", "Amount, settlement fee", An, Fixed, 9);
    t[30] = f(
        30,
        "交易处理费",
        "Amount, transaction processing fee",
        An,
        Fixed,
        9,
    );
    t[31] = f(
        31,
        "清算处理费",
        "Amount, settlement processing fee",
        An,
        Fixed,
        9,
    );
    t[32] = f(32, "受理方标识码", "Acquiring institution id", N, LlVar, 11);
    t[33] = f(
        33,
        "发送方标识码",
        "Forwarding institution id",
        N,
        LlVar,
        11,
    );
    t[34] = sensitive(
        f(34, "扩展主账号", "PAN, extended", Ans, LlVar, 28),
        Sensitivity::Pan,
    );
    t[35] = sensitive(
        f(35, "第二磁道数据", "Track 2 data", Z, LlVar, 37),
        Sensitivity::Track,
    );
    t[36] = sensitive(
        f(36, "第三磁道数据", "Track 3 data", Z, LllVar, 104),
        Sensitivity::Track,
    );
    t[37] = f(
        37,
        "检索参考号",
        "Retrieval reference number",
        An,
        Fixed,
        12,
    );
    t[38] = f(
        38,
        "授权标识应答码",
        "Authorisation id response",
        An,
        Fixed,
        6,
    );
    t[39] = f(39, "应答码", "Response code", An, Fixed, 2);
    t[40] = f(40, "服务限制代码", "Service restriction code", An, Fixed, 3);
    t[41] = f(
        41,
        "受卡机终端标识码",
        "Card acceptor terminal id",
        Ans,
        Fixed,
        8,
    );
    t[42] = f(
        42,
        "受卡方标识码",
        "Card acceptor id (merchant)",
        Ans,
        Fixed,
        15,
    );
    t[43] = f(
        43,
        "受卡方名称地址",
        "Card acceptor name/location",
        Ans,
        Fixed,
        40,
    );
    t[44] = composite(
        f(
            44,
            "附加响应数据",
            "Additional response data",
            An,
            LlVar,
            25,
        ),
        F44,
    );
    t[45] = sensitive(
        f(45, "第一磁道数据", "Track 1 data", Ans, LlVar, 76),
        Sensitivity::Track,
    );
    t[46] = f(46, "附加数据-ISO", "Additional data, ISO", Ans, LllVar, 999);
    t[47] = f(
        47,
        "附加数据-国家",
        "Additional data, national",
        Ans,
        LllVar,
        999,
    );
    t[48] = f(
        48,
        "附加数据-私有",
        "Additional data, private",
        N,
        LllVar,
        322,
    );
    t[49] = f(
        49,
        "交易货币代码",
        "Currency code, transaction",
        An,
        Fixed,
        3,
    );
    t[50] = f(
        50,
        "清算货币代码",
        "Currency code, settlement",
        An,
        Fixed,
        3,
    );
    t[51] = f(
        51,
        "持卡人账户货币代码",
        "Currency code, cardholder billing",
        An,
        Fixed,
        3,
    );
    t[52] = sensitive(
        f(52, "个人标识码数据", "PIN data", B, Fixed, 8),
        Sensitivity::Secret,
    );
    t[53] = f(
        53,
        "安全控制信息",
        "Security related control information",
        N,
        Fixed,
        16,
    );
    t[54] = composite(f(54, "实际余额", "Balance amount", An, LllVar, 20), F54);
    t[55] = f(55, "IC卡数据域", "ICC system related data", B, LllVar, 255);
    t[56] = f(56, "保留", "Reserved (ISO)", Ans, LllVar, 999);
    t[57] = f(57, "保留", "Reserved (national)", Ans, LllVar, 999);
    t[58] = f(
        58,
        "电子钱包/存折数据",
        "PBOC e-purse/e-passbook data",
        Ans,
        LllVar,
        999,
    );
    t[59] = f(
        59,
        "自定义域",
        "Reserved (private, later spec)",
        Ans,
        LllVar,
        999,
    );
    // Q/CUP 007-2005 defines n..017; later revisions append subfields (the public CNB packet
    // carries 19 digits). Decode up to 100 so such traffic is readable; the field-format check
    // holds a terminal to its profile's limit.
    t[60] = composite(
        f(
            60,
            "自定义域",
            "Reserved private: type, batch, mgmt code",
            N,
            LllVar,
            100,
        ),
        F60,
    );
    t[61] = composite(
        f(61, "原始信息域", "Original message data", N, LllVar, 29),
        F61,
    );
    t[62] = f(
        62,
        "自定义域",
        "Reserved private (keys, parameters)",
        B,
        LllVar,
        512,
    );
    t[63] = composite(
        f(
            63,
            "自定义域",
            "Reserved private (card org, texts)",
            Ans,
            LllVar,
            163,
        ),
        F63,
    );
    t[64] = f(64, "报文鉴别码", "Message authentication code", B, Fixed, 8);
    t
}

/// The CUP direct-connect dialect.
pub static CUP_DIRECT: Dialect = Dialect {
    name: "cup-direct",
    fields: table(),
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_2_to_64_is_declared_with_its_own_number() {
        for n in 2..=64u8 {
            let spec = CUP_DIRECT
                .field(n)
                .unwrap_or_else(|| panic!("field {n} missing"));
            assert_eq!(spec.number, n);
        }
        assert!(
            CUP_DIRECT.field(1).is_none(),
            "bit 1 is the bitmap, not a field"
        );
    }

    #[test]
    fn composite_layouts_add_up_to_the_field_maximum() {
        for (n, digits) in [(60u8, 17u16), (61, 29)] {
            let spec = CUP_DIRECT.field(n).expect("declared");
            let sum: u16 = spec.subfields.iter().map(|s| s.len).sum();
            assert_eq!(sum, digits, "field {n}: the spec's subfields");
            assert!(spec.max_len >= digits);
        }
        let f44 = CUP_DIRECT.field(44).expect("declared");
        assert!(f44.subfields.iter().map(|s| s.len).sum::<u16>() <= f44.max_len);
    }

    #[test]
    fn digest_encodings_hold() {
        let f22 = CUP_DIRECT.field(22).expect("22");
        assert_eq!(f22.align, Align::Left);
        assert_eq!(CUP_DIRECT.field(23).expect("23").align, Align::Right);
        assert_eq!(
            CUP_DIRECT.field(61).expect("61").format_label(),
            "n..29 LLLVAR BCD"
        );
        assert_eq!(
            CUP_DIRECT.field(52).expect("52").format_label(),
            "b64 binary"
        );
        assert_eq!(CUP_DIRECT.field(63).expect("63").encoding, Encoding::Ascii);
        assert_eq!(CUP_DIRECT.subfield("60.3").map(|(_, i, _)| i), Some(2));
    }
}
