//! WIT version negotiation: every `lifeboat:plugin/...` import and export of a plugin
//! must carry a version compatible with the one this host was built against.

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::PluginError;

/// The WIT package name.
pub const WIT_PACKAGE: &str = "lifeboat:plugin";
/// The WIT package version this host implements (`plugins/wit/plugin.wit`).
pub const WIT_VERSION: &str = "0.1.0";

fn parse(v: &str) -> Option<(u64, u64, u64)> {
    let core = v.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next()??))
}

/// Semver compatibility in Cargo's sense: same major; for 0.x the same minor. A guest
/// built against a newer minor than the host's may use functions the host lacks.
fn compatible(guest: (u64, u64, u64), host: (u64, u64, u64)) -> bool {
    if host.0 == 0 {
        guest.0 == 0 && guest.1 == host.1
    } else {
        guest.0 == host.0 && guest.1 <= host.1
    }
}

/// Check a component's `lifeboat:plugin` names before linking it.
pub(crate) fn check(engine: &Engine, component: &Component) -> Result<(), PluginError> {
    let host = parse(WIT_VERSION).expect("valid WIT_VERSION");
    let ty = component.component_type();
    let names = ty
        .imports(engine)
        .map(|(n, _)| n.to_owned())
        .chain(ty.exports(engine).map(|(n, _)| n.to_owned()));
    let mut exports_guest = false;
    for name in names {
        let Some(rest) = name
            .strip_prefix(WIT_PACKAGE)
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        let (iface, version) = rest.split_once('@').unwrap_or((rest, ""));
        let ok = parse(version).is_some_and(|g| compatible(g, host));
        if !ok {
            let shown = if version.is_empty() {
                "no version"
            } else {
                version
            };
            return Err(PluginError::Incompatible(format!(
                "it uses {WIT_PACKAGE}/{iface} with {shown}, but this host speaks {WIT_PACKAGE}@{WIT_VERSION}; \
                 rebuild the plugin against plugins/wit/plugin.wit version {WIT_VERSION}"
            )));
        }
        exports_guest |= iface == "guest";
    }
    if !exports_guest {
        return Err(PluginError::Incompatible(format!(
            "it does not export {WIT_PACKAGE}/guest@{WIT_VERSION} (is it built for the `plugin` world?)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_rules() {
        let host = (0, 1, 0);
        assert!(compatible((0, 1, 0), host));
        assert!(compatible((0, 1, 7), host));
        assert!(!compatible((0, 2, 0), host));
        assert!(!compatible((1, 1, 0), host));
        assert!(compatible((1, 0, 0), (1, 2, 0)));
        assert!(!compatible((1, 3, 0), (1, 2, 0)));
        assert!(!compatible((2, 0, 0), (1, 2, 0)));
        assert_eq!(parse("1.2.3-rc1"), Some((1, 2, 3)));
        assert_eq!(parse("x"), None);
    }
}
