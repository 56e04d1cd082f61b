//! A real local Git server on 127.0.0.1: git daemon (git://) and git http-backend behind HTTP basic auth.
