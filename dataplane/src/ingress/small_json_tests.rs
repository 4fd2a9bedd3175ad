//! The small reader must give simd-json's value whenever it answers.

use bumpalo::Bump;

use super::*;
use crate::ingress::body::BodyBuffers;

fn json(value: Value<'_>) -> String {
    let mut out = Vec::new();
    value.write_json(&mut out);
    String::from_utf8(out).unwrap()
}

/// simd-json's answer for `text` (as `parse_body` gave it before the small reader).
fn simd(text: &str) -> Result<String, String> {
    let arena = Bump::new();
    let bytes = arena.alloc_slice_copy(text.as_bytes());
    let tape = simd_json::to_tape_with_buffers(bytes, &mut BodyBuffers::default())
        .map_err(|e| e.to_string())?;
    let (value, _) = crate::ingress::body::convert_for_tests(&arena, &tape.0);
    Ok(json(value))
}

/// The small reader's answer, checked against simd-json's when it gives one.
fn check(text: &str) -> Option<String> {
    let arena = Bump::new();
    let small = read(&arena, text).map(json)?;
    assert_eq!(Ok(small.clone()), simd(text), "{text:?}");
    Some(small)
}

#[test]
fn common_bodies_are_read_as_simd_json_reads_them() {
    for text in [
        r#"{"a":41,"name":"bench"}"#,
        r#"{}"#,
        r#"[]"#,
        " \t\r\n{ \"a\" : [ 1 , -2 , true , false , null , { } , [ ] ] } \n",
        r#"{"é":"✓ ünïcode","n":123456789012345,"m":-123456789012345}"#,
        r#"{"a":1,"b":2,"a":3}"#,
        "[{\"user\":{\"id\":7,\"tags\":[\"x\",\"y\"],\"active\":true}},\"\u{7f}\"]",
        r#"{"":""}"#,
    ] {
        assert!(check(text).is_some(), "{text:?} should be read");
    }
}

#[test]
fn escapes_fractions_and_odd_numbers_go_to_simd_json() {
    for text in [
        r#"{"a":"x\"y"}"#,
        r#"{"a":"\u00e9"}"#,
        r#"{"a\n":1}"#,
        r#"{"a":1.5}"#,
        r#"{"a":1e3}"#,
        r#"{"a":1E3}"#,
        r#"{"a":-0}"#,
        r#"{"a":01}"#,
        r#"{"a":1234567890123456}"#,
        r#"{"a":-}"#,
        "{\"a\":\"tab\there\"}",
        "7",
        "\"text\"",
        "true",
        "",
        "   ",
        r#"{"a":1} x"#,
        r#"{"a":1,}"#,
        r#"[1,]"#,
        r#"{"a" 1}"#,
        r#"{a:1}"#,
        r#"{"a":tru}"#,
        r#"{"a":nul}"#,
        r#"[1 2]"#,
        r#"{"a":1"#,
        r#"["#,
        "\u{feff}{}",
    ] {
        assert_eq!(check(text), None, "{text:?} should be declined");
    }
    let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
    assert_eq!(check(&deep), None);
    let shallow = format!("{}{}", "[".repeat(64), "]".repeat(64));
    assert!(check(&shallow).is_some());
    let wide = format!(
        "{{{}}}",
        (0..33)
            .map(|i| format!("\"k{i}\":{i}"))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(check(&wide), None);
    let long = format!("[{}]", "1,".repeat(SMALL_BODY_BYTES_MAX / 2) + "1");
    assert_eq!(check(&long), None);
}

/// Random texts over JSON's alphabet (valid and broken): whenever the small reader
/// answers, simd-json gives the same value.
#[test]
fn random_texts_read_as_simd_json_reads_them() {
    const PIECES: [&str; 24] = [
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\"a\"",
        "\"é✓\"",
        "\"\"",
        "\"x\\\"\"",
        "0",
        "7",
        "-3",
        "12",
        "1.5",
        "true",
        "false",
        "null",
        "\n",
        "\"k\":",
        "\"a\":1",
        "-",
        "e",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize
    };
    let (mut read_count, mut total) = (0, 0);
    for _ in 0..20_000 {
        let len = 1 + next(12);
        let mut text = String::from(if next(2) == 0 { "{" } else { "[" });
        for _ in 0..len {
            text.push_str(PIECES[next(PIECES.len())]);
        }
        total += 1;
        if check(&text).is_some() {
            read_count += 1;
        }
    }
    // Generated from valid pieces: structured objects and arrays.
    for _ in 0..2_000 {
        let text = random_value(&mut next, 0);
        total += 1;
        assert!(check(&text).is_some() || text.contains('.'), "{text:?}");
        read_count += 1;
    }
    assert!(read_count > 2_000, "{read_count} of {total} read");
}

fn random_value(next: &mut impl FnMut(usize) -> usize, depth: u32) -> String {
    let container = depth == 0 || (depth < 5 && next(3) == 0);
    if container {
        let n = next(4);
        if next(2) == 0 {
            let items: Vec<String> = (0..n).map(|_| random_value(next, depth + 1)).collect();
            format!("[{}]", items.join(","))
        } else {
            let members: Vec<String> = (0..n)
                .map(|i| format!("\"k{}\" : {}", i % 3, random_value(next, depth + 1)))
                .collect();
            format!("{{ {} }}", members.join(" ,"))
        }
    } else {
        match next(6) {
            0 => "true".to_owned(),
            1 => "null".to_owned(),
            2 => format!("{}", next(1_000_000) as i64 - 500_000),
            3 => format!("\"s{}é\"", next(100)),
            4 => "\"\"".to_owned(),
            _ => format!("{}", next(10)),
        }
    }
}
