//! Luxon behaviours pinned by the golden cases and Luxon's documentation.

use super::*;

fn utc(iso: &str) -> DateTime {
    parse_iso(iso, Zone::Utc, false)
}

#[test]
fn iso_round_trip_in_utc_prints_z_and_milliseconds() {
    assert_eq!(
        utc("2024-01-02T03:04:05Z").to_iso().unwrap(),
        "2024-01-02T03:04:05.000Z"
    );
    assert_eq!(utc("2024-01-02T03:04:05Z").ms, 1_704_164_645_000);
}

#[test]
fn offsets_are_converted_into_the_default_zone() {
    assert_eq!(
        utc("2024-07-15T23:30:00+02:00").to_iso().unwrap(),
        "2024-07-15T21:30:00.000Z"
    );
    let kept = parse_iso("2024-07-15T23:30:00+02:00", Zone::Utc, true);
    assert_eq!(kept.to_iso().unwrap(), "2024-07-15T23:30:00.000+02:00");
}

#[test]
fn date_only_is_midnight_in_the_zone() {
    let berlin = Zone::from_name("Europe/Berlin").unwrap();
    assert_eq!(
        parse_iso("2024-02-29", berlin, false).to_iso().unwrap(),
        "2024-02-29T00:00:00.000+01:00"
    );
}

#[test]
fn garbage_is_invalid() {
    let d = utc("not a date");
    assert!(!d.valid);
    assert_eq!(d.to_format("yyyy"), "Invalid DateTime");
    assert!(d.value_of().is_nan());
}

#[test]
fn format_tokens() {
    let d = utc("2024-03-15T12:00:00Z");
    assert_eq!(d.to_format("cccc, LLLL d yyyy"), "Friday, March 15 2024");
    assert_eq!(d.to_format("yyyy-MM-dd HH:mm:ss"), "2024-03-15 12:00:00");
    assert_eq!(
        d.to_format("dd/MM/yy h:mm a 'at' EEE"),
        "15/03/24 12:00 PM at Fri"
    );
    assert_eq!(d.to_format("DDD"), "March 15, 2024");
    assert_eq!(d.to_format("X x"), "1710504000 1710504000000");
    assert_eq!(d.to_format("ZZ z"), "+00:00 UTC");
}

#[test]
fn plus_month_clamps_to_month_end() {
    let d = utc("2024-01-31T00:00:00Z").plus(&Duration::of(Unit::Months, 1.0), 1.0);
    assert_eq!(d.to_iso_date().unwrap(), "2024-02-29");
}

#[test]
fn plus_day_keeps_wall_time_across_dst() {
    let berlin = Zone::from_name("Europe/Berlin").unwrap();
    let d =
        parse_iso("2024-03-30T12:00:00", berlin, false).plus(&Duration::of(Unit::Days, 1.0), 1.0);
    assert_eq!(d.to_iso().unwrap(), "2024-03-31T12:00:00.000+02:00");
}

#[test]
fn diff_in_days_keeps_fraction() {
    let d = utc("2024-01-11T12:00:00Z").diff(&utc("2024-01-01T00:00:00Z"), &[Unit::Days]);
    assert_eq!(d.get(Unit::Days), 10.5);
    let neg = utc("2024-01-01T00:00:00Z").diff(&utc("2024-01-02T00:00:00Z"), &[Unit::Hours]);
    assert_eq!(neg.get(Unit::Hours), -24.0);
}

#[test]
fn diff_in_months_counts_calendar_months() {
    let d = utc("2024-03-31T00:00:00Z").diff(&utc("2024-01-31T00:00:00Z"), &[Unit::Months]);
    assert_eq!(d.get(Unit::Months), 2.0);
}

#[test]
fn start_and_end_of_units() {
    let d = utc("2024-03-15T12:34:56.789Z");
    assert_eq!(
        d.start_of(Unit::Days).to_iso().unwrap(),
        "2024-03-15T00:00:00.000Z"
    );
    assert_eq!(
        d.start_of(Unit::Weeks).to_iso().unwrap(),
        "2024-03-11T00:00:00.000Z"
    );
    assert_eq!(
        d.end_of(Unit::Months).to_iso().unwrap(),
        "2024-03-31T23:59:59.999Z"
    );
    assert_eq!(
        d.start_of(Unit::Quarters).to_iso_date().unwrap(),
        "2024-01-01"
    );
}

#[test]
fn from_format_reads_tokens() {
    let d = parse_format("15/03/2024 07:05 PM", "dd/MM/yyyy hh:mm a", Zone::Utc);
    assert_eq!(d.to_iso().unwrap(), "2024-03-15T19:05:00.000Z");
    assert!(!parse_format("2024-13-01", "yyyy-MM-dd", Zone::Utc).valid);
}

#[test]
fn zone_names() {
    assert_eq!(Zone::from_name("UTC+3"), Some(Zone::Fixed(3 * 3600)));
    assert_eq!(Zone::from_name(""), Some(Zone::Utc));
    assert!(Zone::from_name("Mars/Base").is_none());
}

#[test]
fn durations_convert_casually() {
    let mut d = Duration::of(Unit::Days, 1.0);
    d.set(Unit::Hours, 12.0);
    assert_eq!(d.as_unit(Unit::Hours), 36.0);
    assert_eq!(d.to_iso(), "P1DT12H");
    assert_eq!(Duration::default().to_iso(), "PT0S");
}

#[test]
fn loose_parsing_accepts_sql_and_rfc2822() {
    assert_eq!(
        parse_loose("2024-03-15 10:00:00", Zone::Utc)
            .to_iso()
            .unwrap(),
        "2024-03-15T10:00:00.000Z"
    );
    assert_eq!(
        parse_loose("Fri, 15 Mar 2024 10:00:00 +0000", Zone::Utc)
            .to_iso()
            .unwrap(),
        "2024-03-15T10:00:00.000Z"
    );
}

#[test]
fn js_date_strings() {
    assert_eq!(js_date_iso(0.0).unwrap(), "1970-01-01T00:00:00.000Z");
    assert_eq!(
        js_date_string(0.0),
        "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
    );
    assert_eq!(js_date_string(f64::NAN), "Invalid Date");
}

#[test]
fn non_ascii_input_is_invalid_not_a_panic() {
    assert!(!utc("202é-01").valid);
    assert!(!utc("2024-01-02T03:04+aé1").valid);
    assert!(Zone::from_name("UTC+aé1").is_none());
    assert!(!parse_format("2024-é", "yyyy-MM", Zone::Utc).valid);
}
