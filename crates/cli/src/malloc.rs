//! The controller's allocator settings.

/// Caps glibc's malloc arenas at two. glibc gives each thread that finds the
/// heap busy its own arena (up to eight per core), and every arena keeps
/// what was freed in it: with renders and Git work on blocking threads
/// beside the runtime's workers, that is resident memory held for no work,
/// in a controller whose pace the API server sets. `MALLOC_ARENA_MAX` in
/// the environment still decides when set. Other C libraries: nothing.
pub(crate) fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a malloc parameter; it is called before
        // the runtime starts its threads.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
