//! Capture time. Every timestamp in keepwatch comes from the capture: nothing
//! in the engine reads the wall clock, so a file gives the same report on
//! every run (STYLE habit 5).

use std::fmt;

/// A point in capture time: nanoseconds since the Unix epoch (UTC).
///
/// i64 nanoseconds cover the years 1677 to 2262, which is every capture
/// anyone will feed us; readers clamp anything outside that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    pub fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    /// From seconds and a fraction in units of `1/units_per_sec` (the pcap
    /// and pcapng ways of writing time). Saturates instead of overflowing.
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        let units = units_per_sec.max(1);
        let frac_ns = if units == 1_000_000_000 {
            frac as i128
        } else {
            (frac as i128) * 1_000_000_000 / units as i128
        };
        let total = (secs as i128) * 1_000_000_000 + frac_ns;
        Timestamp(total.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    pub fn nanos(self) -> i64 {
        self.0
    }

    /// Milliseconds from `self` to `later` (negative if `later` is earlier).
    pub fn ms_until(self, later: Timestamp) -> f64 {
        (later.0 as i128 - self.0 as i128) as f64 / 1e6
    }

    /// Nanoseconds from `self` to `later`, saturating at zero when time went
    /// backwards (multi-queue NICs reorder timestamps a little).
    pub fn nanos_until_saturating(self, later: Timestamp) -> u64 {
        let d = later.0 as i128 - self.0 as i128;
        d.clamp(0, u64::MAX as i128) as u64
    }

    pub fn max(self, other: Timestamp) -> Timestamp {
        if other.0 > self.0 {
            other
        } else {
            self
        }
    }

    /// RFC 3339 in UTC with microsecond precision, e.g.
    /// `2026-11-22T02:31:54.123456Z`.
    pub fn rfc3339(self) -> Rfc3339 {
        Rfc3339(self)
    }
}

/// Display adapter for [`Timestamp::rfc3339`]; formats without allocating.
pub struct Rfc3339(Timestamp);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0 .0;
        let secs = nanos.div_euclid(1_000_000_000);
        let sub = nanos.rem_euclid(1_000_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            y,
            m,
            d,
            sod / 3600,
            (sod / 60) % 60,
            sod % 60,
            sub / 1000
        )
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.rfc3339())
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm), so no date crate is needed for one formatting job.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_epoch_and_known_dates() {
        assert_eq!(
            Timestamp(0).rfc3339().to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        // 2000-02-29T12:34:56.789012Z, a leap day in a century leap year.
        let t = Timestamp::from_parts(951_827_696, 789_012, 1_000_000);
        assert_eq!(t.rfc3339().to_string(), "2000-02-29T12:34:56.789012Z");
        assert_eq!(
            Timestamp(-1).rfc3339().to_string(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn from_parts_converts_resolutions_and_saturates() {
        assert_eq!(Timestamp::from_parts(1, 5, 1_000_000).0, 1_000_005_000);
        assert_eq!(Timestamp::from_parts(1, 5, 1_000_000_000).0, 1_000_000_005);
        assert_eq!(Timestamp::from_parts(0, 1, 1024).0, 976_562);
        assert_eq!(Timestamp::from_parts(i64::MAX, 0, 1_000_000).0, i64::MAX);
    }

    #[test]
    fn durations() {
        let a = Timestamp(1_000_000);
        let b = Timestamp(3_500_000);
        assert_eq!(a.ms_until(b), 2.5);
        assert_eq!(b.ms_until(a), -2.5);
        assert_eq!(b.nanos_until_saturating(a), 0);
        assert_eq!(a.nanos_until_saturating(b), 2_500_000);
    }
}
