//! Capture time. Every timestamp in keepwatch comes from the capture: nothing
//! in the engine reads the wall clock, so a file gives the same report on
//! every run (STYLE habit 5).

use std::fmt;
use std::num::NonZeroU64;

/// A point in capture time: nanoseconds since the Unix epoch (UTC).
///
/// i64 nanoseconds cover the years 1677 to 2262, which is every capture
/// anyone will feed us; readers clamp anything outside that.
///
/// Stored with the sign bit flipped in a `NonZeroU64`, which keeps the
/// order of the i64 and gives `Option<Timestamp>` the size of a
/// `Timestamp`: connection state and kept exchanges hold dozens of
/// optional times each, and they are most of an open connection's
/// memory. The one i64 that does not fit, `i64::MIN`, is taken as
/// `i64::MIN + 1`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(NonZeroU64);

const SIGN: u64 = 1 << 63;

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp::from_nanos(0);
    /// The earliest representable time (`i64::MIN + 1` nanoseconds).
    pub const MIN: Timestamp = Timestamp(NonZeroU64::MIN);
    /// The latest representable time (`i64::MAX` nanoseconds).
    pub const MAX: Timestamp = Timestamp(NonZeroU64::MAX);

    pub const fn from_nanos(nanos: i64) -> Self {
        match NonZeroU64::new(nanos as u64 ^ SIGN) {
            Some(v) => Timestamp(v),
            None => Timestamp::MIN,
        }
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
        Timestamp::from_nanos(total.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    }

    pub const fn nanos(self) -> i64 {
        (self.0.get() ^ SIGN) as i64
    }

    /// Milliseconds from `self` to `later` (negative if `later` is earlier).
    pub fn ms_until(self, later: Timestamp) -> f64 {
        (later.nanos() as i128 - self.nanos() as i128) as f64 / 1e6
    }

    /// Nanoseconds from `self` to `later`, saturating at zero when time went
    /// backwards (multi-queue NICs reorder timestamps a little).
    pub fn nanos_until_saturating(self, later: Timestamp) -> u64 {
        let d = later.nanos() as i128 - self.nanos() as i128;
        d.clamp(0, u64::MAX as i128) as u64
    }

    /// RFC 3339 in UTC with microsecond precision, e.g.
    /// `2026-11-22T02:31:54.123456Z`.
    pub fn rfc3339(self) -> Rfc3339 {
        Rfc3339(self)
    }
}

impl Default for Timestamp {
    fn default() -> Self {
        Timestamp::ZERO
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Timestamp").field(&self.nanos()).finish()
    }
}

/// Display adapter for [`Timestamp::rfc3339`]; formats without allocating.
pub struct Rfc3339(Timestamp);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.nanos();
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

impl Rfc3339 {
    /// The same text as [`fmt::Display`], written into a fixed buffer
    /// without the formatting machinery (reports write several timestamps
    /// per connection and exchange: through `collect_str` they cost about a
    /// tenth of a run over short connections). `None` for years outside
    /// 0..=9999, which `i64` nanoseconds cannot reach.
    fn to_bytes(&self) -> Option<[u8; 27]> {
        let (secs, micros) = split_micros(self.0);
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let prefix = second_prefix(secs)?;
        b[..SECOND_PREFIX_LEN].copy_from_slice(&prefix);
        put_micros(&mut b[SECOND_PREFIX_LEN..SECOND_PREFIX_LEN + 6], micros);
        Some(b)
    }
}

/// Length of `YYYY-MM-DDTHH:MM:SS.`, the part of an RFC 3339 timestamp
/// shared by every instant of one second.
const SECOND_PREFIX_LEN: usize = 20;

/// Whole seconds since the epoch and the microseconds into that second.
fn split_micros(t: Timestamp) -> (i64, u32) {
    let secs = t.nanos().div_euclid(1_000_000_000);
    let micros = (t.nanos().rem_euclid(1_000_000_000) / 1000) as u32;
    (secs, micros)
}

/// `YYYY-MM-DDTHH:MM:SS.` of second `secs`; `None` for years outside
/// 0..=9999 (see [`Rfc3339::to_bytes`]).
fn second_prefix(secs: i64) -> Option<[u8; SECOND_PREFIX_LEN]> {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    let y = u32::try_from(y).ok().filter(|y| *y <= 9999)?;
    let mut b = *b"0000-00-00T00:00:00.";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            if let Some(c) = b.get_mut(i) {
                *c = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, sod / 3600);
    put(14, 2, (sod / 60) % 60);
    put(17, 2, sod % 60);
    Some(b)
}

/// Six digits of `micros` (below 1_000_000) into `out` (six bytes), two
/// at a time.
fn put_micros(out: &mut [u8], micros: u32) {
    let pairs = [micros / 10_000, (micros / 100) % 100, micros % 100];
    for (pair, v) in out.chunks_exact_mut(2).zip(pairs) {
        pair.copy_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
    }
}

/// Formats timestamps as RFC 3339 text (the text of [`Timestamp::rfc3339`]),
/// remembering the formatted date and time of the last whole second: the
/// timestamps of one connection record mostly share their second, so most
/// cost a comparison and six digits instead of a calendar conversion.
#[derive(Clone, Debug)]
pub struct Rfc3339Writer {
    /// The second `text` holds the date and time of; `None` until the
    /// first call.
    second: Option<i64>,
    text: [u8; 27],
}

impl Default for Rfc3339Writer {
    fn default() -> Self {
        Rfc3339Writer {
            second: None,
            text: *b"0000-00-00T00:00:00.000000Z",
        }
    }
}

impl Rfc3339Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The text of `t.rfc3339()`; `None` for years outside 0..=9999, which
    /// `i64` nanoseconds cannot reach (the caller then uses `Display`).
    pub fn format(&mut self, t: Timestamp) -> Option<&[u8; 27]> {
        let (secs, micros) = split_micros(t);
        if self.second != Some(secs) {
            let prefix = second_prefix(secs)?;
            self.text[..SECOND_PREFIX_LEN].copy_from_slice(&prefix);
            self.second = Some(secs);
        }
        put_micros(
            &mut self.text[SECOND_PREFIX_LEN..SECOND_PREFIX_LEN + 6],
            micros,
        );
        Some(&self.text)
    }

    /// Appends `t` as RFC 3339 (no quotes).
    pub fn write(&mut self, t: Timestamp, out: &mut Vec<u8>) {
        match self.format(t) {
            Some(text) => out.extend_from_slice(text),
            None => {
                use std::io::Write;
                let _ = write!(out, "{}", t.rfc3339());
            }
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339().to_bytes() {
            Some(b) => s.serialize_str(std::str::from_utf8(&b).unwrap_or_default()),
            None => s.collect_str(&self.rfc3339()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(v)
                    .ok_or_else(|| E::custom(format_args!("not an RFC 3339 timestamp: {v:?}")))
            }
        }
        d.deserialize_str(V)
    }
}

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)` (RFC 3339
    /// section 5.6; `t`/`z`/space accepted as the spec allows). Fractions
    /// finer than a nanosecond are truncated; leap second 60 is read as 59
    /// plus one second, like most parsers. `None` on anything else or on a
    /// time outside the i64 nanosecond range.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        let num = |from: usize, len: usize| -> Option<i64> {
            let digits = b.get(from..from.checked_add(len)?)?;
            digits.iter().try_fold(0i64, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let sep = |at: usize, ok: &[u8]| b.get(at).is_some_and(|c| ok.contains(c));
        if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
            return None;
        }
        let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
        let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let mdays = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        let max_day = *mdays.get(usize::try_from(mo).ok()?.checked_sub(1)?)?;
        if d < 1 || d > max_day || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut i = 19;
        let mut frac_ns = 0i64;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            let mut scale = 100_000_000i64;
            while let Some(c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                frac_ns += i64::from(c - b'0') * scale;
                scale /= 10;
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        let offset_s = match b.get(i)? {
            b'Z' | b'z' if i + 1 == b.len() => 0,
            c @ (b'+' | b'-') if i + 6 == b.len() && sep(i + 3, b":") => {
                let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
                if oh > 23 || om > 59 {
                    return None;
                }
                let o = oh * 3600 + om * 60;
                if *c == b'-' {
                    -o
                } else {
                    o
                }
            }
            _ => return None,
        };
        let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
        let total = i128::from(secs) * 1_000_000_000 + i128::from(frac_ns);
        i64::try_from(total).ok().map(Timestamp::from_nanos)
    }
}

/// Proleptic Gregorian date to days since 1970-01-01 (Hinnant's algorithm,
/// the inverse of [`civil_from_days`]). Inputs are range-checked by the
/// caller (year 0..=9999), so nothing overflows.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
            Timestamp::from_nanos(0).rfc3339().to_string(),
            "1970-01-01T00:00:00.000000Z"
        );
        // 2000-02-29T12:34:56.789012Z, a leap day in a century leap year.
        let t = Timestamp::from_parts(951_827_696, 789_012, 1_000_000);
        assert_eq!(t.rfc3339().to_string(), "2000-02-29T12:34:56.789012Z");
        assert_eq!(
            Timestamp::from_nanos(-1).rfc3339().to_string(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    /// The niche that makes an optional time cost nothing, and the order
    /// and values it must not change.
    #[test]
    fn optional_times_are_as_small_as_times_and_keep_their_order() {
        assert_eq!(std::mem::size_of::<Option<Timestamp>>(), 8);
        let values = [
            i64::MIN + 1,
            -1_000_000_000,
            -1,
            0,
            1,
            1_795_000_000_123_456_789,
            i64::MAX,
        ];
        for a in values {
            assert_eq!(Timestamp::from_nanos(a).nanos(), a);
            for b in values {
                let (ta, tb) = (Timestamp::from_nanos(a), Timestamp::from_nanos(b));
                assert_eq!(ta.cmp(&tb), a.cmp(&b), "{a} vs {b}");
                assert_eq!(Some(ta).cmp(&Some(tb)), a.cmp(&b));
            }
            // `None` sorts first, as it did with a plain i64 inside.
            assert!(None < Some(Timestamp::from_nanos(a)));
        }
        assert_eq!(Timestamp::from_nanos(i64::MIN), Timestamp::MIN);
        assert_eq!(Timestamp::MIN.nanos(), i64::MIN + 1);
        assert_eq!(Timestamp::MAX.nanos(), i64::MAX);
        assert_eq!(Timestamp::default(), Timestamp::ZERO);
        assert_eq!(Timestamp::ZERO.nanos(), 0);
        assert_eq!(format!("{:?}", Timestamp::from_nanos(-7)), "Timestamp(-7)");
    }

    #[test]
    fn from_parts_converts_resolutions_and_saturates() {
        assert_eq!(
            Timestamp::from_parts(1, 5, 1_000_000).nanos(),
            1_000_005_000
        );
        assert_eq!(
            Timestamp::from_parts(1, 5, 1_000_000_000).nanos(),
            1_000_000_005
        );
        assert_eq!(Timestamp::from_parts(0, 1, 1024).nanos(), 976_562);
        assert_eq!(
            Timestamp::from_parts(i64::MAX, 0, 1_000_000).nanos(),
            i64::MAX
        );
    }

    #[test]
    fn parses_what_it_formats_and_other_rfc3339_forms() {
        for t in [
            Timestamp::from_nanos(0),
            Timestamp::from_nanos(-1_000),
            Timestamp::from_parts(951_827_696, 789_012, 1_000_000),
            Timestamp::from_parts(1_795_000_000, 123_456, 1_000_000),
        ] {
            let s = t.rfc3339().to_string();
            assert_eq!(Timestamp::parse_rfc3339(&s), Some(t), "{s}");
        }
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-01T01:00:00.5+01:00"),
            Some(Timestamp::from_nanos(500_000_000))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-01t00:00:01.123456789123z"),
            Some(Timestamp::from_nanos(1_123_456_789))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("1969-12-31T19:00:00-05:00"),
            Some(Timestamp::from_nanos(0))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2000-02-29T00:00:00Z").map(|t| t.rfc3339().to_string()),
            Some("2000-02-29T00:00:00.000000Z".to_string())
        );
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for s in [
            "",
            "2000-02-30T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2000-13-01T00:00:00Z",
            "2000-00-01T00:00:00Z",
            "2000-01-01T24:00:00Z",
            "2000-01-01T00:00:00",
            "2000-01-01T00:00:00.Z",
            "2000-01-01T00:00:00Zjunk",
            "2000-01-01T00:00:00+0100",
            "2000-01-01X00:00:00Z",
            "2000-01-01T00:00:00+24:00",
            "9999-12-31T23:59:59Z",
            "+000-01-01T00:00:00Z",
            "é000-01-01T00:00:00Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(s), None, "{s:?}");
        }
    }

    #[test]
    fn serde_round_trip() {
        let t = Timestamp::from_parts(1_795_000_000, 654_321, 1_000_000);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2026-11-18T11:06:40.654321Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }

    #[test]
    fn serialized_text_equals_display_everywhere() {
        let mut t = i64::MIN;
        // Both ends of the range, the epoch, negative times, and a sweep.
        let mut cases = vec![
            i64::MIN,
            i64::MAX,
            0,
            -1,
            1,
            -999,
            999_999_999,
            -86_400_000_000_001,
        ];
        for _ in 0..20_000 {
            t = t.wrapping_add(0x0123_4567_89ab_cdef).rotate_left(7);
            cases.push(t);
        }
        for n in cases {
            let ts = Timestamp::from_nanos(n);
            let json = serde_json::to_string(&ts).unwrap();
            assert_eq!(json, format!("\"{}\"", ts.rfc3339()), "{n}");
        }
    }

    #[test]
    fn cached_writer_equals_display_across_seconds() {
        let mut w = Rfc3339Writer::new();
        let mut t = 0x5eed_i64;
        let mut cases = vec![i64::MIN, i64::MAX, 0, -1, 1, 999_999_999, 1_000_000_000];
        for i in 0..20_000i64 {
            t = t.wrapping_add(0x0123_4567_89ab_cdef).rotate_left(7);
            cases.push(t);
            // Neighbours in the same second and across a second boundary,
            // so the cache is both hit and refreshed.
            cases.push(t.saturating_add(i % 1000));
            cases.push(t.saturating_add(1_000_000_000 - t.rem_euclid(1_000_000_000)));
        }
        for n in cases {
            let mut out = Vec::new();
            w.write(Timestamp::from_nanos(n), &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                Timestamp::from_nanos(n).rfc3339().to_string(),
                "{n}"
            );
        }
    }

    #[test]
    fn durations() {
        let a = Timestamp::from_nanos(1_000_000);
        let b = Timestamp::from_nanos(3_500_000);
        assert_eq!(a.ms_until(b), 2.5);
        assert_eq!(b.ms_until(a), -2.5);
        assert_eq!(b.nanos_until_saturating(a), 0);
        assert_eq!(a.nanos_until_saturating(b), 2_500_000);
    }
}
