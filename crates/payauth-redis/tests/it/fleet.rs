//! Real worker processes.
