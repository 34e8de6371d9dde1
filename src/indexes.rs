//! Interval sets of completion indexes.
