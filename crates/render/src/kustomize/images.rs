//! Placeholder: owned by the transformers engineer.
