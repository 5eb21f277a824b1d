//! UTC times as RFC 3339 text: how the chaincode stamps what it writes and how the gateway names a
//! retention date to the object store, without a date crate on either side.

/// `secs` after 1970-01-01T00:00:00Z as `2026-11-24T00:00:00Z`, or with `millis` as
/// `2026-11-24T00:00:00.005Z`.
pub fn rfc3339(secs: i64, millis: Option<u32>) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // The civil date of a day count (Howard Hinnant's days_from_civil, inverted).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (h, min, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    match millis {
        Some(ms) => format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z"),
        None => format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn civil_dates() {
        assert_eq!(rfc3339(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400, Some(0)), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_478_400, Some(5)), "2026-11-24T00:00:00.005Z");
        assert_eq!(rfc3339(-1, None), "1969-12-31T23:59:59Z");
    }
}
