//! `posconf schema` describes the files the parser accepts: every shipped suite, rig and
//! capability file validates against it, and the typos the parser refuses, it refuses too.

use std::path::Path;

fn yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    posconf::yaml::from_str(&text, &path.display().to_string()).unwrap()
}

fn files(dir: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_shipped_suite_validates_and_typos_do_not() {
    let schema = posconf::suite::model::schema();
    let v = jsonschema::validator_for(&schema).expect("the schema compiles");
    let suites = files("suites/cup-direct");
    assert!(suites.len() >= 5);
    for f in &suites {
        let doc = yaml(f);
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", f.display());
    }
    let bad: serde_json::Value = posconf::yaml::from_str(
        "suite: x\ncases:\n  - id: a\n    requirements: []\n    title: {zh: a, en: b}\n    steps:\n      - purchse: {amount: 1}\n",
        "bad",
    )
    .unwrap();
    assert!(!v.is_valid(&bad));
    let bad_matcher: serde_json::Value = posconf::yaml::from_str(
        "suite: x\ncases:\n  - id: a\n    requirements: []\n    title: {zh: a, en: b}\n    steps:\n      - expect_message: {fields: {\"4\": {regx: \"1\"}}}\n",
        "bad",
    )
    .unwrap();
    assert!(!v.is_valid(&bad_matcher));
}

#[test]
fn rig_and_capability_files_validate() {
    let rig = jsonschema::validator_for(&posconf::suite::rig::rig_schema()).unwrap();
    let rigs: Vec<_> = files("hil-rig")
        .into_iter()
        .filter(|f| {
            f.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                n.starts_with("rig-") || n == "pcsc-virtual.yaml"
            })
        })
        .collect();
    assert!(rigs.len() >= 5, "{rigs:?}");
    for f in &rigs {
        assert!(rig.is_valid(&yaml(f)), "{}", f.display());
    }
    let ok: serde_json::Value =
        posconf::yaml::from_str("terminal: {driver: serial, port: /dev/ttyUSB0}\n", "r").unwrap();
    assert!(rig.is_valid(&ok));
    let caps = jsonschema::validator_for(&posconf::suite::rig::capabilities_schema()).unwrap();
    assert!(caps.is_valid(&yaml(Path::new(
        "hil-rig/capabilities/reference-terminal.yaml"
    ))));
}
