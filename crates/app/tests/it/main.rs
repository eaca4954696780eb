//! Integration tests of steward-app.
