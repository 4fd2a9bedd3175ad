//! Tests of [`super`]: JSON output as `JSON.stringify` prints it, key compares, conversions.

use super::*;

#[test]
fn key_eq_agrees_with_str_equality() {
    let long = "a_key_longer_than_sixteen_bytes";
    let keys = [
        "",
        "a",
        "b",
        "ab",
        "ba",
        "body",
        "bodY",
        "name",
        "é",
        "e\u{301}",
        long,
        "a_key_longer_than_sixteen_byteS",
        "sixteen_bytes_ab",
        "sixteen_bytes_aB",
    ];
    for a in keys {
        for b in keys {
            assert_eq!(key_eq(a, b), a == b, "{a:?} vs {b:?}");
        }
    }
    // Every length the word compares cover, a difference at every position.
    for len in 0..=KEY_INLINE_COMPARE_BYTES_MAX + 4 {
        let a: String = (0..len)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        assert!(key_eq(&a, &a.clone()), "{a:?}");
        for at in 0..len {
            let mut b = a.clone().into_bytes();
            b[at] = b'Z';
            let b = String::from_utf8(b).unwrap();
            assert!(!key_eq(&a, &b), "{a:?} vs {b:?}");
        }
    }
}

#[test]
fn small_integers_print_as_javascript_prints_them() {
    let print = |n: f64| {
        let mut out = Vec::new();
        write_js_number(n, &mut out);
        String::from_utf8(out).unwrap()
    };
    for i in 0..(SMALL_INTEGER_END + 100) {
        assert_eq!(print(i as f64), i.to_string());
        assert_eq!(
            print(-(i as f64)),
            if i == 0 {
                "0".to_owned()
            } else {
                format!("-{i}")
            }
        );
    }
    assert_eq!(print(-0.0), "0");
    assert_eq!(print(0.5), "0.5");
    assert_eq!(print(999.25), "999.25");
    assert_eq!(print(1e21), "1e+21");
}

fn stringify(v: Value<'_>) -> String {
    let mut out = Vec::new();
    v.write_json(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn numbers_print_like_javascript() {
    assert_eq!(stringify(Value::Number(1.0)), "1");
    assert_eq!(stringify(Value::Number(-0.0)), "0");
    assert_eq!(stringify(Value::Number(0.1 + 0.2)), "0.30000000000000004");
    assert_eq!(stringify(Value::Number(1.5e300)), "1.5e+300");
    assert_eq!(stringify(Value::Number(f64::NAN)), "null");
    assert_eq!(stringify(Value::Number(f64::INFINITY)), "null");
    // The integer path and its edges (JavaScript's `String(n)`).
    for (n, js) in [
        (42.0, "42"),
        (-7.0, "-7"),
        (9_007_199_254_740_991.0, "9007199254740991"),
        (-9_007_199_254_740_991.0, "-9007199254740991"),
        (9_007_199_254_740_992.0, "9007199254740992"),
        (1e21, "1e+21"),
        (-2.5, "-2.5"),
        (0.5, "0.5"),
    ] {
        assert_eq!(stringify(Value::Number(n)), js, "{n}");
    }
}

#[test]
fn undefined_members_are_dropped_and_elements_become_null() {
    let members = [("a", Value::Undefined), ("b", Value::Number(2.0))];
    assert_eq!(stringify(Value::Object(&members)), r#"{"b":2}"#);
    let items = [Value::Undefined, Value::Bool(true)];
    assert_eq!(stringify(Value::Array(&items)), "[null,true]");
}

#[test]
fn strings_escape_control_characters() {
    assert_eq!(
        stringify(Value::String("a\"b\\\n\u{1}é")),
        "\"a\\\"b\\\\\\n\\u0001é\""
    );
}

#[test]
fn strings_without_escapes_are_copied_whole() {
    assert_eq!(stringify(Value::String("plain é ✓")), r#""plain é ✓""#);
    assert_eq!(stringify(Value::String("")), r#""""#);
    assert_eq!(stringify(Value::String("tail\"")), r#""tail\"""#);
    assert_eq!(stringify(Value::String("\u{1f}x")), r#""\u001fx""#);
}

#[test]
fn short_and_long_strings_escape_as_the_general_path() {
    // Every length around the short-string bound, each escaped byte at every position,
    // against the general escaping loop and serde_json (same escapes as JSON.stringify).
    let general = |s: &str| {
        let mut out = Vec::new();
        write_json_string_escaped(s.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    };
    for len in 0..=STRING_SHORT_BYTES_MAX + 8 {
        let plain: String = (0..len).map(|i| ['a', 'Z', '/', '\u{7f}'][i % 4]).collect();
        assert_eq!(
            stringify(Value::String(&plain)),
            general(&plain),
            "{plain:?}"
        );
        assert_eq!(
            stringify(Value::String(&plain)),
            serde_json::to_string(&plain).unwrap()
        );
        for at in 0..len {
            for escaped in ['"', '\\', '\n', '\u{0}', '\u{1f}', '\u{8}', '\u{c}'] {
                let mut s = plain.clone().into_bytes();
                s[at] = escaped as u8;
                let s = String::from_utf8(s).unwrap();
                let mut out = b"prefix".to_vec();
                write_json_string(&s, &mut out);
                let written = String::from_utf8(out).unwrap();
                assert_eq!(written, format!("prefix{}", general(&s)), "{s:?}");
                assert_eq!(
                    written,
                    format!("prefix{}", serde_json::to_string(&s).unwrap())
                );
            }
        }
    }
    let multibyte = "é✓".repeat(STRING_SHORT_BYTES_MAX);
    for end in (0..multibyte.len()).filter(|&i| multibyte.is_char_boundary(i)) {
        let s = &multibyte[..end];
        assert_eq!(stringify(Value::String(s)), general(s));
    }
}

/// The short-string writer tests bytes a word at a time: bytes next to the escaped ones
/// (`space`, `!`, `#`, `[`, `]`, DEL) and the UTF-8 bytes that are an escaped byte plus
/// 0x80 (`\u{a2}` is `c2 a2`, `Ü` is `c3 9c`, `\u{9f}` is `c2 9f`) must not count, and an
/// escaped byte among them must, at every position and length.
#[test]
fn word_escape_tests_agree_with_the_byte_test() {
    let general = |s: &str| {
        let mut out = Vec::new();
        write_json_string_escaped(s.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    };
    let fillers = [
        ' ', '!', '#', '[', ']', '\u{7f}', '\u{a2}', '\u{dc}', '\u{9f}', '~',
    ];
    for filler in fillers {
        for len in 0..=STRING_SHORT_BYTES_MAX + 4 {
            let plain: String = std::iter::repeat_n(filler, len).collect();
            let mut out = Vec::new();
            write_json_string(&plain, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                general(&plain),
                "{plain:?}"
            );
            for at in 0..len {
                for escaped in ['"', '\\', '\u{0}', '\u{1f}'] {
                    let s: String = plain
                        .chars()
                        .enumerate()
                        .map(|(i, c)| if i == at { escaped } else { c })
                        .collect();
                    let mut out = Vec::new();
                    write_json_string(&s, &mut out);
                    assert_eq!(String::from_utf8(out).unwrap(), general(&s), "{s:?}");
                }
            }
        }
    }
}

/// `extend_short_after` appends the separator and exactly the bytes it is given, at every
/// length around its word copies.
#[test]
fn extend_short_after_appends_the_separator_and_the_bytes() {
    let source: Vec<u8> = (0..40u8)
        .map(|b| b.wrapping_mul(37).wrapping_add(1))
        .collect();
    for len in 0..=source.len() {
        let mut out = b"prefix".to_vec();
        extend_short_after(&mut out, b',', &source[..len]);
        assert_eq!(&out[..7], b"prefix,");
        assert_eq!(&out[7..], &source[..len], "length {len}");
    }
}

#[test]
fn borrowed_json_equals_copied_json() {
    let arena = Bump::new();
    let text = r#"{"z":1,"a":[1,"x",null,[],{}],"m":{"k":true,"e":{},"l":[]},"s":"é\"","n":-2.5,"f":false,"u":null}"#;
    let json: serde_json::Value = serde_json::from_str(text).unwrap();
    let copied = Value::from_json(&arena, &json);
    let borrowed = Value::borrow_json(&arena, &json);
    assert_eq!(stringify(borrowed), stringify(copied));
    assert_eq!(borrowed.to_json(), json);
    // Strings and keys point into `json`, not into the arena.
    let serde_json::Value::Object(members) = &json else {
        unreachable!()
    };
    let (key, value) = members.get_key_value("s").unwrap();
    let Value::Object(borrowed_members) = borrowed else {
        unreachable!()
    };
    let (borrowed_key, borrowed_value) = borrowed_members[3];
    assert!(std::ptr::eq(borrowed_key, key.as_str()));
    assert!(std::ptr::eq(
        borrowed_value.as_str().unwrap(),
        value.as_str().unwrap()
    ));
    // Empty containers have addresses of their own (`[] === []` is false).
    let first = borrowed.get("a").index(3).as_array().unwrap();
    let second = borrowed.get("m").get("l").as_array().unwrap();
    assert!(!std::ptr::eq(first, second));
    for scalar in ["null", "true", "3", "\"x\""] {
        let json: serde_json::Value = serde_json::from_str(scalar).unwrap();
        assert_eq!(stringify(Value::borrow_json(&arena, &json)), scalar);
    }
}

#[test]
fn json_round_trip_keeps_key_order() {
    let arena = Bump::new();
    let json: serde_json::Value =
        serde_json::from_str(r#"{"z":1,"a":[1,"x",null],"m":{"k":true}}"#).unwrap();
    let v = Value::from_json(&arena, &json);
    assert_eq!(stringify(v), r#"{"z":1,"a":[1,"x",null],"m":{"k":true}}"#);
    assert_eq!(v.to_json(), json);
}
