//! The one place YAML (and JSON, a subset of it) is parsed. Errors name the file, the line and
//! column, and the key path, so a broken suite or fixture points at itself.

use std::path::Path;

use serde::de::DeserializeOwned;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum YamlError {
    #[error("{origin}: cannot read: {source}")]
    Io {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}{}: {message}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Parse {
        origin: String,
        /// 1-based line and column, when the parser knows them.
        location: Option<(usize, usize)>,
        message: String,
    },
}

/// Parse `text` (YAML or JSON); `origin` names it in errors (a path, `<stdin>`, ...).
pub fn from_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, YamlError> {
    serde_yaml::from_str(text).map_err(|e| YamlError::Parse {
        origin: origin.to_string(),
        location: e.location().map(|l| (l.line(), l.column())),
        message: e.to_string(),
    })
}

/// Read and parse a file.
pub fn from_file<T: DeserializeOwned>(path: &Path) -> Result<T, YamlError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| YamlError::Io {
        origin: origin.clone(),
        source,
    })?;
    from_str(&text, &origin)
}

/// For `#[serde(deserialize_with = ...)]`: read enums written as one-key maps
/// (`- purchase: {amount: 100}`) rather than YAML tags (`- !purchase`), at any depth.
pub fn singleton_maps<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde_yaml::with::singleton_map_recursive::deserialize(d)
}

/// Serialise to YAML text.
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, YamlError> {
    serde_yaml::to_string(value).map_err(|e| YamlError::Parse {
        origin: "<output>".into(),
        location: None,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: u8,
    }

    #[test]
    fn errors_carry_origin_line_and_key() {
        let e = from_str::<T>("a: 1\nb: 2\n", "suite.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("suite.yaml:2:"), "{e}");
        assert!(e.contains("unknown field `b`"), "{e}");
        let e = from_str::<T>("a: 300\n", "x.yaml").unwrap_err().to_string();
        assert!(e.contains("x.yaml:1:") && e.contains("300"), "{e}");
        assert_eq!(
            from_str::<T>("{\"a\": 7}", "json").unwrap().a,
            7,
            "JSON is YAML"
        );
    }
}
