//! The interval syntax of `succeededIndexes`, `completedIndexes` and
//! `failedIndexes` as validation reads it (`validateIndexesFormat`,
//! `parseIndexInterval`, `validateFailedIndexesNotOverlapCompleted`). The
//! error texts are upstream's, since they end up in API error details.

use super::field::go_quote;

/// An inclusive interval `[first, last]` of indexes.
type Interval = (i64, i64);

/// Go's `strconv.Atoi` on 64-bit: optional sign, decimal digits, in range.
fn atoi(s: &str) -> Option<i64> {
    s.parse::<i64>().ok()
}

/// `parseIndexInterval`: `x` or `x-y` with `x < y < completions`.
fn parse_interval(fragment: &str, completions: i64) -> Result<Interval, String> {
    let parts: Vec<&str> = fragment.split('-').collect();
    if parts.len() > 2 {
        return Err(format!(
            "the fragment {} violates the requirement that an index interval can have at most two parts separated by '-'",
            go_quote(fragment)
        ));
    }
    let bound = |s: &str| -> Result<i64, String> {
        let v = atoi(s).ok_or_else(|| {
            format!(
                "cannot convert string to integer for index: {}",
                go_quote(s)
            )
        })?;
        if v >= completions {
            return Err(format!("too large index: {}", go_quote(s)));
        }
        Ok(v)
    };
    let x = bound(parts[0])?;
    let Some(second) = parts.get(1) else {
        return Ok((x, x));
    };
    let y = bound(second)?;
    if x >= y {
        return Err(format!("non-increasing order, previous: {x}, current: {y}"));
    }
    Ok((x, y))
}

/// `validateIndexesFormat`: comma-separated, strictly increasing intervals
/// below `completions`. Returns how many indexes the text names.
pub(crate) fn validate_format(text: &str, completions: i64) -> Result<i64, String> {
    if text.is_empty() {
        return Ok(0);
    }
    let mut last: Option<i64> = None;
    let mut total: i64 = 0;
    for fragment in text.split(',') {
        let (x, y) = parse_interval(fragment, completions)?;
        if let Some(prev) = last.filter(|&prev| prev >= x) {
            return Err(format!(
                "non-increasing order, previous: {prev}, current: {x}"
            ));
        }
        // Intervals are disjoint and below completions, so this cannot
        // overflow; saturate anyway rather than trust that.
        total = total.saturating_add(y.saturating_sub(x).saturating_add(1));
        last = Some(y);
    }
    Ok(total)
}

/// The intervals of `text` that parse; malformed ones are skipped (their
/// errors are reported by [`validate_format`]).
fn valid_intervals(text: &str, completions: i64) -> Vec<Interval> {
    text.split(',')
        .filter_map(|f| parse_interval(f, completions).ok())
        .collect()
}

/// `validateFailedIndexesNotOverlapCompleted`: walks both lists in order and
/// reports the first index present in both.
pub(crate) fn failed_overlaps_completed(
    completed: &str,
    failed: &str,
    completions: i64,
) -> Result<(), String> {
    if completed.is_empty() || failed.is_empty() {
        return Ok(());
    }
    let c = valid_intervals(completed, completions);
    let f = valid_intervals(failed, completions);
    let (mut i, mut j) = (0, 0);
    while let (Some(&(cx, cy)), Some(&(fx, fy))) = (c.get(i), f.get(j)) {
        if cx <= fy && fx <= cy {
            return Err(format!(
                "failedIndexes and completedIndexes overlap at index: {}",
                cx.max(fx)
            ));
        }
        if cx <= fx {
            i += 1;
        } else {
            j += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_text_names_no_index() {
        assert_eq!(validate_format("", 3), Ok(0));
    }

    #[test]
    fn counts_indexes_of_valid_intervals() {
        assert_eq!(validate_format("0,2-4,7", 10), Ok(5));
        assert_eq!(validate_format("1,3,5-9", 10), Ok(7));
    }

    #[test]
    fn rejects_non_numbers() {
        assert_eq!(
            validate_format("invalid-format", 5),
            Err("cannot convert string to integer for index: \"invalid\"".to_owned())
        );
        assert_eq!(
            validate_format("1,", 5),
            Err("cannot convert string to integer for index: \"\"".to_owned())
        );
        assert!(validate_format("99999999999999999999", 5).is_err());
    }

    #[test]
    fn rejects_too_large_indexes() {
        assert_eq!(
            validate_format("5", 5),
            Err("too large index: \"5\"".to_owned())
        );
        assert!(validate_format("0", -1).is_err());
    }

    #[test]
    fn rejects_non_increasing_order() {
        assert_eq!(
            validate_format("3-1", 5),
            Err("non-increasing order, previous: 3, current: 1".to_owned())
        );
        assert_eq!(
            validate_format("1-2,2", 5),
            Err("non-increasing order, previous: 2, current: 2".to_owned())
        );
    }

    #[test]
    fn rejects_three_part_fragments() {
        assert!(
            validate_format("1-2-3", 5)
                .unwrap_err()
                .contains("at most two parts")
        );
    }

    #[test]
    fn overlap_reports_first_common_index() {
        assert_eq!(failed_overlaps_completed("0-2,6", "3-5", 10), Ok(()));
        assert_eq!(
            failed_overlaps_completed("0-2,6", "4-7", 10),
            Err("failedIndexes and completedIndexes overlap at index: 6".to_owned())
        );
        assert_eq!(
            failed_overlaps_completed("x,1", "1", 10).unwrap_err(),
            "failedIndexes and completedIndexes overlap at index: 1"
        );
    }
}
