//! The Kustomize parser and builder over an in-memory tree: the input is
//! split at NUL bytes into a kustomization, a resource, a patch and a base
//! (see `KUSTOMIZE_FILES`); the build succeeds or fails, never panics.
#![no_main]

use driftless_fuzz::{KUSTOMIZE_FILES, MemTree};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut tree = MemTree::default();
    for (path, part) in KUSTOMIZE_FILES.iter().zip(data.split(|b| *b == 0)) {
        tree.0.insert(path.to_string(), part.to_vec());
    }
    let options = driftless_render::RenderOptions::default();
    let _ = driftless_render::render(&tree, "app", &options);
});
