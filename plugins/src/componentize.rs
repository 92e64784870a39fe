//! Guest tooling used by `lifeboat-componentize` (and usable as a library): generate C
//! bindings for the plugin world with wit-bindgen's C generator, and turn a
//! `wasm32-wasi` core module (reactor) into a component with `wit-component` and the
//! WASI preview1 reactor adapter.

use std::path::{Path, PathBuf};

use wit_bindgen_core::wit_parser::Resolve;
use wit_component::{ComponentEncoder, StringEncoding};

/// A failure of the guest tooling, with context.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ComponentizeError(String);

fn err(context: &str) -> impl Fn(anyhow::Error) -> ComponentizeError + '_ {
    move |e| ComponentizeError(format!("{context}: {e:#}"))
}

fn resolve(
    wit_dir: &Path,
    world: Option<&str>,
) -> Result<(Resolve, wit_bindgen_core::wit_parser::WorldId), ComponentizeError> {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve
        .push_dir(wit_dir)
        .map_err(err(&format!("parsing WIT in {}", wit_dir.display())))?;
    let world = resolve
        .select_world(&[pkg], world)
        .map_err(err("selecting the world"))?;
    Ok((resolve, world))
}

/// Write C bindings (`<world>.c`, `<world>.h`) for `world` of the WIT package in
/// `wit_dir` into `out_dir`; returns the files written.
pub fn c_bindings(
    wit_dir: &Path,
    world: Option<&str>,
    out_dir: &Path,
) -> Result<Vec<PathBuf>, ComponentizeError> {
    let (mut resolve, world) = resolve(wit_dir, world)?;
    let opts = wit_bindgen_c::Opts {
        no_object_file: true,
        ..Default::default()
    };
    let mut files = wit_bindgen_core::Files::default();
    opts.build()
        .generate(&mut resolve, world, &mut files)
        .map_err(err("generating C bindings"))?;
    std::fs::create_dir_all(out_dir)
        .map_err(|e| ComponentizeError(format!("{}: {e}", out_dir.display())))?;
    let mut written = Vec::new();
    for (name, contents) in files.iter() {
        let path = out_dir.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| ComponentizeError(format!("{}: {e}", path.display())))?;
        written.push(path);
    }
    Ok(written)
}

/// Turn a core module built with `-mexec-model=reactor` against wasi-libc into a
/// component of `world`: embed the world's type information, then encode with the
/// WASI preview1 reactor adapter.
pub fn componentize(
    core_module: &[u8],
    wit_dir: &Path,
    world: Option<&str>,
) -> Result<Vec<u8>, ComponentizeError> {
    let (resolve, world) = resolve(wit_dir, world)?;
    let mut module = core_module.to_vec();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        StringEncoding::UTF8,
        false,
    )
    .map_err(err("embedding component metadata"))?;
    let adapter = wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;
    ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .map_err(err("reading the core module"))?
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            adapter,
        )
        .map_err(err("adding the WASI preview1 adapter"))?
        .encode()
        .map_err(err("encoding the component"))
}
