//! cowsim traces (placeholder until the trace module lands).
