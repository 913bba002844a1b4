//! `flows`: a declarative end-to-end flow runner.
