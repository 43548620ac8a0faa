#![allow(clippy::unwrap_used)]
//! Every security claim in `docs/threat-model.md` names the test that tries
//! the attack; this checks that each named test exists (so renaming or
//! deleting one breaks the build of the claim, not silently the claim).

use std::path::Path;

#[test]
fn every_test_the_threat_model_names_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/threat-model.md")).unwrap();
    let mut checked = 0;
    for cell in doc.split('`') {
        let Some((file, name)) = cell.split_once(".rs::") else {
            continue;
        };
        let path = root.join(format!("{file}.rs"));
        let src = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("docs/threat-model.md names {cell}: {e}"));
        let test = name.rsplit("::").next().unwrap();
        assert!(
            src.contains(&format!("fn {test}(")),
            "docs/threat-model.md names {cell}, but {} has no fn {test}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} test references found");
}
