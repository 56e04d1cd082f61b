//! The YAML/JSON reader: any text parses or fails with an error, never a
//! panic, a hang or unbounded memory.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = driftless_render::yaml::parse_documents(text, "fuzz.yaml");
    let _ = driftless_render::yaml::parse_documents_lenient(text, "fuzz.yaml");
});
