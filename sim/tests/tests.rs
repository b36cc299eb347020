//! Integration tests of the model, compiled as one binary.

mod support;

/// Textbook situations, each headed by the question it answers.
mod scenarios;
