//! Time as the tool shows it: unix seconds as RFC 3339 and as dates, and the one rounding
//! rule for "days left" and "N days ago", so that every output agrees. Pure.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Unix seconds as RFC 3339 UTC, e.g. "2026-11-23T14:30:00Z". Times beyond the years
/// 0000–9999, which RFC 3339 cannot express (and no certificate holds), are clamped.
pub fn rfc3339(unix: i64) -> String {
    datetime(unix)
        .format(&Rfc3339)
        .unwrap_or_else(|_| unix.to_string())
}

/// The date part of [`rfc3339`], e.g. "2026-11-23".
pub fn date(unix: i64) -> String {
    datetime(unix).date().to_string()
}

/// Unix seconds as a compact UTC timestamp, e.g. "20261203T142530": letters and digits
/// only, so that it can be an `_mta-sts` id (RFC 8461 §3.1) that says when it was made.
pub fn stamp(unix: i64) -> String {
    let t = datetime(unix);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// RFC 3339 text as unix seconds, for what we wrote with [`rfc3339`].
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// Unix seconds kept in a file as RFC 3339 text, which people can read (`--state`):
/// `#[serde(with = "crate::dates::as_rfc3339")]`.
pub mod as_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(unix: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*unix))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_rfc3339(&text)
            .ok_or_else(|| D::Error::custom(format!("{text:?} is not an RFC 3339 date-time")))
    }

    /// The same for an optional time, absent or `null` when there is none.
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(unix: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match unix {
                Some(unix) => super::serialize(unix, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            #[derive(Deserialize)]
            struct Time(#[serde(with = "super")] i64);
            Ok(Option::<Time>::deserialize(d)?.map(|Time(t)| t))
        }
    }
}

fn datetime(unix: i64) -> OffsetDateTime {
    const YEAR_0: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
    const YEAR_9999_END: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let clamped = unix.clamp(YEAR_0, YEAR_9999_END);
    OffsetDateTime::from_unix_timestamp(clamped).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Whole days from `now` until `t`, rounded down: 0 within the last day before `t`,
/// negative once `t` has passed (-1 during the first day after it).
pub fn days_left(t: i64, now: i64) -> i64 {
    t.saturating_sub(now).div_euclid(DAY)
}

/// When `t` is, seen from `now`, by the rounding of [`days_left`]: "in 3 days",
/// "within a day", "less than a day ago", "2 days ago".
pub fn relative(t: i64, now: i64) -> String {
    match days_left(t, now) {
        0 if t >= now => "within a day".to_string(),
        n if n >= 0 => format!("in {}", days(n)),
        // days_left is -1 during the first day after t, -2 during the second...
        -1 => "less than a day ago".to_string(),
        n => format!("{} ago", days(-n - 1)),
    }
}

/// "1 day", "3 days".
pub fn days(n: i64) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_text_reads_back_as_the_seconds_it_was_written_from() {
        for unix in [0, 1_796_287_054, 1_801_471_033] {
            assert_eq!(parse_rfc3339(&rfc3339(unix)), Some(unix));
        }
        assert_eq!(
            parse_rfc3339("2026-12-03T08:37:13+01:00"),
            Some(1_796_283_433)
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn stamps_are_utc_letters_and_digits() {
        assert_eq!(stamp(1_796_307_930), "20261203T142530");
        assert_eq!(stamp(0), "19700101T000000");
        assert_eq!(stamp(i64::MAX), "99991231T235959");
    }

    #[test]
    fn formats_rfc3339_and_dates() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"), // leap day of a 400-year
            (1_709_210_096, "2024-02-29T12:34:56Z"), // leap day
            (4_107_542_400, "2100-03-01T00:00:00Z"), // 2100 has no leap day
            (2_147_483_648, "2038-01-19T03:14:08Z"), // past 32-bit time
            (-1, "1969-12-31T23:59:59Z"),
            (-62_135_596_800, "0001-01-01T00:00:00Z"),
            (253_402_300_799, "9999-12-31T23:59:59Z"),
        ];
        for (unix, want) in cases {
            assert_eq!(rfc3339(unix), want, "{unix}");
        }
        assert_eq!(date(1_709_210_096), "2024-02-29");
        // No overflow or panic at the extremes.
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MIN), "0000-01-01T00:00:00Z");
    }

    #[test]
    fn days_left_and_relative_agree() {
        let now = 1_000_000_000;
        let cases = [
            (now + 10 * DAY + 5, 10, "in 10 days"),
            (now + DAY, 1, "in 1 day"),
            (now + DAY - 1, 0, "within a day"),
            (now, 0, "within a day"),
            (now - 1, -1, "less than a day ago"),
            (now - DAY, -1, "less than a day ago"),
            (now - DAY - 1, -2, "1 day ago"),
            (now - 30 * DAY - 1, -31, "30 days ago"),
        ];
        for (t, left, text) in cases {
            assert_eq!(days_left(t, now), left, "{t}");
            assert_eq!(relative(t, now), text, "{t}");
        }
        assert_eq!(days_left(i64::MIN, i64::MAX), i64::MIN.div_euclid(DAY));
    }
}
