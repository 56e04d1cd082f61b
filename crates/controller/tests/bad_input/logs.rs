//! Captures everything the controller logs in this test process, so the
//! secrets sweep can search it.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_subscriber::fmt::MakeWriter;

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

/// A writer appending to the shared buffer (and echoing to the test output).
#[derive(Clone)]
pub struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the capturing subscriber (debug for driftless, info elsewhere)
/// before the harness would install its own; idempotent.
pub fn install() {
    let buffer = LOGS.get_or_init(|| Arc::new(Mutex::new(Vec::new())));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "info,driftless_controller=debug,driftless_source=debug,driftless_sync=debug,driftless_render=debug",
        ))
        .with_ansi(false)
        .with_writer(Capture(buffer.clone()))
        .try_init();
}

/// Everything logged so far.
pub fn text() -> String {
    LOGS.get()
        .map(|b| String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned())
        .unwrap_or_default()
}
