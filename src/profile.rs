//! Acquirer profile: every fact the digests mark [var] (sources disagree) is a setting here,
//! with the most common value as the default. Load one with `--profile FILE` (YAML).

use serde::{Deserialize, Serialize};

use crate::crypto::MacAlgorithm;
use crate::iso8583::{Codec, Header, Tpdu, CUP_DIRECT};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Profile name shown in reports.
    pub name: String,
    /// Pad nibble for odd-length BCD data: `0` (LY, most hosts) or `F` (BW track 3).
    pub pad_nibble: String,
    /// Header byte 0, application type: `60` (LY, CM); BW uses `61`, XGDH `64`.
    pub header_app: String,
    /// Header byte 1, software total version: `31` (2010 spec); CNB shows `32`.
    pub header_version: String,
    /// Header bytes 3..5, software sub-version (6 digits).
    pub header_sub_version: String,
    /// Terminal TPDU (`60` + destination + source).
    pub tpdu: String,
    /// 60.3 code of parameter download: `360` (LY) or `364` (BW, CM).
    pub param_download_code: String,
    /// 60.3 code of parameter download end.
    pub param_download_end_code: String,
    /// MAC algorithm on field 64: `ecb` (CUP POS), `x9.9`, `x9.19`.
    pub mac_algorithm: String,
    /// In sign-in layouts 003/004 the MAK is single length (LY); some hosts use 16 bytes.
    pub double_length_mak: bool,
    /// Batch-upload card class codes: domestic and foreign (`00`/`01`; BW uses `01`/`02`).
    pub card_class_domestic: String,
    pub card_class_foreign: String,
    /// Response codes that end a reversal (tables file: 00, 12, 25).
    pub reversal_done_codes: Vec<String>,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: "cup-direct-default".into(),
            pad_nibble: "0".into(),
            header_app: "60".into(),
            header_version: "31".into(),
            header_sub_version: "310000".into(),
            tpdu: "6000030000".into(),
            param_download_code: "360".into(),
            param_download_end_code: "361".into(),
            mac_algorithm: "ecb".into(),
            double_length_mak: false,
            card_class_domestic: "00".into(),
            card_class_foreign: "01".into(),
            reversal_done_codes: vec!["00".into(), "12".into(), "25".into()],
        }
    }
}

/// A profile value that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("profile setting {key}: {reason}")]
pub struct ProfileError {
    pub key: &'static str,
    pub reason: String,
}

impl Profile {
    pub fn load(path: &std::path::Path) -> Result<Profile, crate::yaml::YamlError> {
        crate::yaml::from_file(path)
    }

    /// The codec configured by this profile.
    pub fn codec(&self) -> Result<Codec<'static>, ProfileError> {
        let pad = u8::from_str_radix(&self.pad_nibble, 16)
            .ok()
            .filter(|p| *p == 0 || *p == 0xF)
            .ok_or_else(|| ProfileError {
                key: "pad_nibble",
                reason: format!("must be 0 or F, got {:?}", self.pad_nibble),
            })?;
        Ok(Codec::new(&CUP_DIRECT).with_pad(pad))
    }

    pub fn mac(&self) -> Result<MacAlgorithm, ProfileError> {
        self.mac_algorithm.parse().map_err(|_| ProfileError {
            key: "mac_algorithm",
            reason: format!("expected ecb, x9.9 or x9.19, got {:?}", self.mac_algorithm),
        })
    }

    /// The request header a terminal on this profile sends (normal state).
    pub fn header(&self) -> Result<Header, ProfileError> {
        let text = format!(
            "{}{}00{}",
            self.header_app, self.header_version, self.header_sub_version
        );
        Header::from_hex(&text).map_err(|e| ProfileError {
            key: "header_app/header_version/header_sub_version",
            reason: e.to_string(),
        })
    }

    pub fn tpdu(&self) -> Result<Tpdu, ProfileError> {
        Tpdu::from_hex(&self.tpdu).map_err(|e| ProfileError {
            key: "tpdu",
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_common_values() {
        let p = Profile::default();
        assert_eq!(p.header().unwrap().to_string(), "603100310000");
        assert_eq!(p.tpdu().unwrap().to_string(), "6000030000");
        assert_eq!(p.codec().unwrap().pad, 0);
        assert_eq!(p.mac().unwrap(), MacAlgorithm::CupEcb);
    }

    #[test]
    fn a_partial_yaml_profile_overrides_only_what_it_names() {
        let p: Profile =
            crate::yaml::from_str("pad_nibble: F\nheader_app: \"61\"\n", "p.yaml").unwrap();
        assert_eq!(p.codec().unwrap().pad, 0xF);
        assert_eq!(p.header().unwrap().to_string(), "613100310000");
        assert_eq!(p.param_download_code, "360");
        let bad: Profile = crate::yaml::from_str("pad_nibble: \"7\"\n", "p.yaml").unwrap();
        assert!(bad.codec().unwrap_err().to_string().contains("pad_nibble"));
        assert!(crate::yaml::from_str::<Profile>("padnibble: F\n", "p.yaml").is_err());
    }
}
