//! Faults injected per route through the control API. (Being implemented.)

/// Injected faults.
#[derive(Debug, Default)]
pub struct Faults {}
