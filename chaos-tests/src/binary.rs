//! Locating the `lifeboat` binary under test.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The `lifeboat` binary: `$LIFEBOAT_BIN`, else the one beside this test executable in
/// the cargo target directory, built with `cargo build -p lifeboat` if it is missing.
pub fn lifeboat_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("LIFEBOAT_BIN") {
            return PathBuf::from(p);
        }
        let exe = std::env::current_exe().expect("current exe");
        // target/debug/deps/test-xxxx -> target/debug/lifeboat ; target/debug/bench -> same dir
        let mut dir = exe.parent().expect("exe dir").to_path_buf();
        if dir.ends_with("deps") {
            dir.pop();
        }
        let bin = dir.join("lifeboat");
        if !bin.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .args(["build", "-p", "lifeboat", "--bin", "lifeboat"])
                .status()
                .expect("run cargo build -p lifeboat");
            assert!(status.success(), "cargo build -p lifeboat failed");
        }
        assert!(
            bin.exists(),
            "lifeboat binary not found at {}",
            bin.display()
        );
        bin
    })
    .clone()
}
