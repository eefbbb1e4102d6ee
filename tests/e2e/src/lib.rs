//! End-to-end tests against a running stack (see tests/).
