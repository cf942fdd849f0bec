//! Every example policy of the seeds loads unchanged (but the one doc-escaping artifact).
#![allow(clippy::unwrap_used, clippy::panic)] // a test that cannot read the policies should fail loudly

use meshguard_core::{PolicySet, Source};

fn read_policies() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn all_eleven_seed_policies_load() {
    let files = read_policies();
    assert_eq!(files.len(), 11);
    let set = PolicySet::compile(files.iter().map(|(n, t)| Source::new(n, t)))
        .unwrap_or_else(|e| panic!("{e}\n{:#?}", e.diagnostics()));
    assert_eq!(set.len(), 11);
    let names: Vec<&str> = set.policies().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"clawdbot-email-policy"));
    assert!(names.contains(&"autogpt-production"));
}
