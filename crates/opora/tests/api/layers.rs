//! The layers of ARCHITECTURE.md hold: each crate may use only the crates below it. The
//! dependency graph comes from `cargo metadata`, so a new `use` of a forbidden crate fails here
//! on the day it is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

/// Every workspace crate's normal (not dev, not build) dependencies, by package name.
fn dependency_graph() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = || std::process::Command::new(option_env!("CARGO").unwrap_or("cargo"));
    // Only this machine's platform: the others' crates are never downloaded, and we run offline.
    let version = cargo().arg("-vV").output().expect("cargo runs");
    let version = String::from_utf8_lossy(&version.stdout);
    let host = version.lines().find_map(|l| l.strip_prefix("host: ")).expect("cargo names its host");
    let output = cargo()
        .args(["metadata", "--offline", "--locked", "--format-version", "1", "--filter-platform", host])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("metadata is JSON");
    let names: BTreeMap<&str, &str> =
        metadata["packages"].as_array().expect("packages").iter().filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?))).collect();
    let mut graph = BTreeMap::new();
    for node in metadata["resolve"]["nodes"].as_array().expect("nodes") {
        let Some(name) = node["id"].as_str().and_then(|id| names.get(id)) else { continue };
        let normal = node["deps"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|dep| dep["dep_kinds"].as_array().into_iter().flatten().any(|kind| kind["kind"].is_null()));
        let deps = normal.filter_map(|dep| names.get(dep["pkg"].as_str()?)).map(|n| (*n).to_owned()).collect();
        graph.insert((*name).to_owned(), deps);
    }
    graph
}

/// Everything `name` pulls in, directly or through others.
fn closure(graph: &BTreeMap<String, BTreeSet<String>>, name: &str) -> BTreeSet<String> {
    let (mut seen, mut queue) = (BTreeSet::new(), vec![name.to_owned()]);
    while let Some(next) = queue.pop() {
        for dep in graph.get(&next).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                queue.push(dep.clone());
            }
        }
    }
    seen
}

#[track_caller]
fn refuses(crate_name: &str, uses: &BTreeSet<String>, forbidden: &[&str]) {
    let found: Vec<&&str> = forbidden.iter().filter(|f| uses.contains(**f)).collect();
    assert!(found.is_empty(), "{crate_name} must not depend on {found:?}");
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    let graph = dependency_graph();
    let direct = |name: &str| graph.get(name).cloned().unwrap_or_else(|| panic!("{name} is in the workspace"));
    assert!(direct("opora-app").contains("opora-store"), "the graph was read: {graph:?}");

    // The vocabulary is pure: no runtime, no database, no network, however deep.
    let runtime = ["tokio", "axum", "hyper", "reqwest", "rusqlite", "postgres", "lettre", "async-imap"];
    refuses("opora-domain", &closure(&graph, "opora-domain"), &runtime);
    refuses("opora-domain", &direct("opora-domain"), &["opora-store", "opora-channels", "opora-app", "opora-web"]);
    // The store knows SQL and nothing of HTTP, channels or use cases.
    refuses("opora-store", &closure(&graph, "opora-store"), &["axum", "hyper", "reqwest", "opora-channels", "opora-app", "opora-web"]);
    // Drivers speak to the outside world and never touch the database.
    refuses(
        "opora-channels",
        &closure(&graph, "opora-channels"),
        &["rusqlite", "postgres", "opora-store", "opora-app", "opora-web", "axum"],
    );
    // Use cases know no HTTP.
    refuses("opora-app", &closure(&graph, "opora-app"), &["opora-web", "axum"]);
    // The web layer reaches data only through use cases.
    refuses("opora-web", &direct("opora-web"), &["opora-store", "opora-channels", "rusqlite", "postgres"]);
}

#[test]
fn the_web_layer_writes_no_sql() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src");
    let mut files = vec![web];
    let mut read = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).expect("read dir").map(|e| e.expect("entry").path()));
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("read source").to_lowercase();
        read += 1;
        for database in ["\"select ", "\"insert into ", "\"update ", "\"delete from ", ".store()", "opora_store"] {
            assert!(!source.contains(database), "{} contains {database:?}", path.display());
        }
    }
    assert!(read > 20, "the web sources were read ({read} files)");
}
