//! Method and global-function tests, including the golden cases' expectations.

use serde_json::json;

use super::tests::run;

fn value(source: &str) -> serde_json::Value {
    run(source, json!({}))
}

#[test]
fn every_fast_method_is_implemented() {
    for name in linkflow_codec::expr::support::FAST_METHODS {
        assert!(
            super::implements_method(name),
            "codec lists .{name}() as fast but the evaluator lacks it"
        );
    }
}

#[test]
fn golden_string_methods() {
    let input = json!({"s": "Hello World foo", "csv": "a, b ,c", "padded": "  x y  ", "n": 42, "code": "AB-123-9", "u": "straße éè 😀"});
    let r = |s: &str| run(s, input.clone());
    assert_eq!(
        r("={{ $json.s.replace('o', '0') }}"),
        json!("Hell0 World foo")
    );
    assert_eq!(
        r("={{ $json.s.replaceAll('o', '0') }}"),
        json!("Hell0 W0rld f00")
    );
    assert_eq!(
        r(r"={{ $json.s.replace(/\s+/g, '_') }}"),
        json!("Hello_World_foo")
    );
    assert_eq!(
        r("={{ $json.csv.split(',').map(x => x.trim()).join('|') }}"),
        json!("a|b|c")
    );
    assert_eq!(r("={{ $json.csv.split(',').length }}"), json!(3));
    assert_eq!(r("={{ $json.s.toUpperCase() }}"), json!("HELLO WORLD FOO"));
    assert_eq!(r("={{ $json.s.toLowerCase() }}"), json!("hello world foo"));
    assert_eq!(r("={{ $json.padded.trim() }}"), json!("x y"));
    assert_eq!(r("={{ $json.s.includes('World') }}"), json!(true));
    assert_eq!(r("={{ $json.s.slice(0, 5) }}"), json!("Hello"));
    assert_eq!(r("={{ $json.s.slice(-3) }}"), json!("foo"));
    assert_eq!(r("={{ $json.s.indexOf('o') }}"), json!(4));
    assert_eq!(r("={{ String($json.n).padStart(5, '0') }}"), json!("00042"));
    assert_eq!(r("={{ $json.s.startsWith('Hello') }}"), json!(true));
    assert_eq!(r(r"={{ $json.code.match(/\d+/)[0] }}"), json!("123"));
    assert_eq!(r("={{ '-'.repeat(3) }}"), json!("---"));
    assert_eq!(r("={{ $json.u.toUpperCase() }}"), json!("STRASSE ÉÈ 😀"));
    assert_eq!(r("={{ $json.u.length }}"), json!(12));
}

#[test]
fn string_replacement_patterns_and_functions() {
    assert_eq!(
        value(r"={{ 'John Smith'.replace(/(\w+)\s(\w+)/, '$2, $1') }}"),
        json!("Smith, John")
    );
    assert_eq!(
        value("={{ 'a-b-c'.replace('-', '$&$&') }}"),
        json!("a--b-c")
    );
    assert_eq!(
        value("={{ 'abc'.replace(/b/, m => m.toUpperCase()) }}"),
        json!("aBc")
    );
    assert_eq!(value("={{ 'aaa'.replace(/a/gi, 'b') }}"), json!("bbb"));
    assert_eq!(value("={{ 'x'.replaceAll('', '-') }}"), json!("-x-"));
    assert_eq!(value("={{ 'a1b2'.match(/\\d/g) }}"), json!(["1", "2"]));
    assert_eq!(value("={{ 'abc'.match(/z/) }}"), json!(null));
    assert_eq!(value("={{ /^a.c$/i.test('ABC') }}"), json!(true));
    assert_eq!(
        value("={{ 'a,b;c'.split(/[,;]/) }}"),
        json!(["a", "b", "c"])
    );
    // A non-global regex with replaceAll is a TypeError: the value becomes null.
    assert_eq!(value("={{ 'aa'.replaceAll(/a/, 'b') }}"), json!(null));
}

#[test]
fn string_extensions() {
    assert_eq!(
        value("={{ 'Mail bob@example.com now'.extractEmail() }}"),
        json!("bob@example.com")
    );
    assert_eq!(
        value("={{ 'see https://n8n.io/x?y=1 ok'.extractUrl() }}"),
        json!("https://n8n.io/x?y=1")
    );
    assert_eq!(
        value("={{ 'https://www.n8n.io/path'.extractDomain() }}"),
        json!("www.n8n.io")
    );
    assert_eq!(value("={{ 'a b&c'.urlEncode() }}"), json!("a%20b%26c"));
    assert_eq!(value("={{ 'a%20b'.urlDecode() }}"), json!("a b"));
    assert_eq!(
        value("={{ 'hello big world'.toTitleCase() }}"),
        json!("Hello Big World")
    );
    assert_eq!(
        value("={{ 'hELLO. wORLD'.toSentenceCase() }}"),
        json!("Hello. World")
    );
    assert_eq!(value("={{ ' 12 '.toNumber() }}"), json!(12));
    assert_eq!(value("={{ 'abc'.toNumber() }}"), json!(null));
    assert_eq!(
        value("={{ ''.isEmpty() && 'x'.isNotEmpty() }}"),
        json!(true)
    );
    assert_eq!(value("={{ '{\"a\":1}'.parseJson().a }}"), json!(1));
    assert_eq!(value("={{ 'x'.toJsonString() }}"), json!("\"x\""));
}

#[test]
fn golden_array_extensions() {
    let input = json!({"nums": [3, 1, 2, 5], "dups": [1, 1, "a", "a", 2], "people": [{"name": "x"}, {"name": "y"}], "holes": [0, null, "", "a", false, 1], "none": [], "kv": [{"k": "a", "v": 1}, {"k": "b", "v": 2}]});
    let r = |s: &str| run(s, input.clone());
    assert_eq!(r("={{ $json.nums.first() }}"), json!(3));
    assert_eq!(r("={{ $json.nums.last() }}"), json!(5));
    assert_eq!(r("={{ $json.dups.unique() }}"), json!([1, "a", 2]));
    assert_eq!(r("={{ $json.nums.sum() }}"), json!(11));
    assert_eq!(r("={{ $json.nums.max() }}"), json!(5));
    assert_eq!(r("={{ $json.nums.min() }}"), json!(1));
    assert_eq!(r("={{ $json.nums.average() }}"), json!(2.75));
    assert_eq!(r("={{ $json.people.pluck('name') }}"), json!(["x", "y"]));
    assert_eq!(r("={{ $json.nums.chunk(2) }}"), json!([[3, 1], [2, 5]]));
    assert_eq!(r("={{ $json.holes.compact() }}"), json!([0, "a", false, 1]));
    assert_eq!(r("={{ $json.none.isEmpty() }}"), json!(true));
    assert_eq!(r("={{ $json.nums.isNotEmpty() }}"), json!(true));
    assert_eq!(
        r("={{ $json.dups.removeDuplicates() }}"),
        json!([1, "a", 2])
    );
    assert_eq!(r("={{ $json.nums.difference([1, 2]) }}"), json!([3, 5]));
    assert_eq!(
        r("={{ $json.nums.intersection([2, 3, 99]) }}"),
        json!([3, 2])
    );
    assert_eq!(r("={{ $json.nums.union([99]) }}"), json!([3, 1, 2, 5, 99]));
    assert_eq!(
        r("={{ $json.kv.smartJoin('k', 'v') }}"),
        json!({"a": 1, "b": 2})
    );
}

#[test]
fn array_methods() {
    assert_eq!(value("={{ [3, 1, 10, 2].sort() }}"), json!([1, 10, 2, 3]));
    assert_eq!(
        value("={{ [3, 1, 10, 2].sort((a, b) => a - b) }}"),
        json!([1, 2, 3, 10])
    );
    assert_eq!(
        value("={{ [1, 2, 3].reduce((acc, x) => acc + x, 10) }}"),
        json!(16)
    );
    assert_eq!(
        value("={{ [1, 2, 3].filter(x => x > 1).map((x, i) => x * i) }}"),
        json!([0, 3])
    );
    assert_eq!(value("={{ [1, 2, 3].find(x => x > 1) }}"), json!(2));
    assert_eq!(value("={{ [1, 2, 3].findIndex(x => x > 5) }}"), json!(-1));
    assert_eq!(
        value("={{ [1, 2].some(x => x > 1) && [1, 2].every(x => x > 0) }}"),
        json!(true)
    );
    assert_eq!(value("={{ [1, [2, [3]]].flat() }}"), json!([1, 2, [3]]));
    assert_eq!(value("={{ [1, 2].concat([3], 4) }}"), json!([1, 2, 3, 4]));
    assert_eq!(value("={{ [1, 2, 3].reverse().slice(1) }}"), json!([2, 1]));
    assert_eq!(
        value("={{ [NaN].includes(NaN) && [1].indexOf(1) === 0 }}"),
        json!(true)
    );
    assert_eq!(
        value("={{ [...[1, 2], ...'ab'] }}"),
        json!([1, 2, "a", "b"])
    );
    assert_eq!(
        value("={{ [null, 'x', undefined].join('-') }}"),
        json!("-x-")
    );
    assert_eq!(value("={{ [].reduce((a, b) => a + b) }}"), json!(null));
}

#[test]
fn object_methods_and_globals() {
    assert_eq!(value("={{ Object.keys({a: 1, b: 2}) }}"), json!(["a", "b"]));
    assert_eq!(value("={{ Object.values({a: 1, b: 2}) }}"), json!([1, 2]));
    assert_eq!(value("={{ Object.entries({a: 1}) }}"), json!([["a", 1]]));
    assert_eq!(
        value("={{ Object.assign({a: 1}, {b: 2}, {a: 3}) }}"),
        json!({"a": 3, "b": 2})
    );
    assert_eq!(
        value("={{ Object.fromEntries([['a', 1]]) }}"),
        json!({"a": 1})
    );
    assert_eq!(
        value("={{ ({a: 1, ...{b: 2, a: 5}}) }}"),
        json!({"a": 5, "b": 2})
    );
    assert_eq!(
        value("={{ ({a: 1}).hasField('a') && ({}).isEmpty() }}"),
        json!(true)
    );
    assert_eq!(value("={{ ({a: 1, b: null}).compact() }}"), json!({"a": 1}));
    assert_eq!(value("={{ ({a: 1}).keys() }}"), json!(["a"]));
    assert_eq!(
        value("={{ Array.isArray([]) && !Array.isArray({}) }}"),
        json!(true)
    );
    assert_eq!(value("={{ Math.max(1, 5, 3) + Math.min() }}"), json!(null));
    assert_eq!(
        value("={{ Math.round(2.5) + Math.round(-2.5) + Math.floor(-1.5) }}"),
        json!(-1)
    );
    assert_eq!(
        value("={{ parseInt('42px') + parseFloat('3.5e1x') }}"),
        json!(77)
    );
    assert_eq!(value("={{ parseInt('0x1f') }}"), json!(31));
    assert_eq!(
        value("={{ Number('') + Number('12') + Number(true) }}"),
        json!(13)
    );
    assert_eq!(value("={{ String(Number('abc')) }}"), json!("NaN"));
    assert_eq!(value("={{ Boolean('') || Boolean('0') }}"), json!(true));
    assert_eq!(
        value("={{ encodeURIComponent('a b/é') }}"),
        json!("a%20b%2F%C3%A9")
    );
    assert_eq!(
        value("={{ decodeURIComponent('a%20b%2F%C3%A9') }}"),
        json!("a b/é")
    );
    assert_eq!(
        value("={{ $ifEmpty('', 'fallback') + $ifEmpty('x', 'y') }}"),
        json!("fallbackx")
    );
    assert_eq!(value("={{ $if(1 > 0, 'yes', 'no') }}"), json!("yes"));
    assert_eq!(value("={{ $max(1, 9, 3) + $min(4, 2) }}"), json!(11));
    assert_eq!(
        value("={{ Number.isInteger(5) && !Number.isInteger('5') }}"),
        json!(true)
    );
}

#[test]
fn number_methods() {
    assert_eq!(value("={{ (2.71828).round(2) }}"), json!(2.72));
    assert_eq!(value("={{ (3.7).floor() + (3.2).ceil() }}"), json!(7));
    assert_eq!(value("={{ (4).isEven() && (3).isOdd() }}"), json!(true));
    assert_eq!(value("={{ (255).toString(16) }}"), json!("ff"));
    assert_eq!(
        value("={{ (1234567.891).format() }}"),
        json!("1,234,567.891")
    );
    assert_eq!(
        value("={{ (0).toDateTime().toISO() }}"),
        json!("1970-01-01T00:00:00.000Z")
    );
}

#[test]
fn luxon_methods() {
    assert_eq!(
        value("={{ DateTime.fromISO('2024-03-15T12:34:56Z').startOf('month').toISO() }}"),
        json!("2024-03-01T00:00:00.000Z")
    );
    assert_eq!(value("={{ DateTime.fromISO('2024-03-15T12:00:00Z').setZone('America/New_York').toFormat('HH:mm ZZ') }}"), json!("08:00 -04:00"));
    assert_eq!(
        value("={{ DateTime.fromISO('2024-03-15T00:00:00Z').weekday }}"),
        json!(5)
    );
    assert_eq!(
        value("={{ DateTime.fromFormat('15.03.2024', 'dd.MM.yyyy').toISODate() }}"),
        json!("2024-03-15")
    );
    assert_eq!(value("={{ DateTime.fromMillis(0).year }}"), json!(1970));
    assert_eq!(
        value("={{ DateTime.fromSeconds(86400).toISODate() }}"),
        json!("1970-01-02")
    );
    assert_eq!(
        value("={{ DateTime.fromISO('2024-01-02T00:00:00Z').diff(DateTime.fromISO('2024-01-01T00:00:00Z'), ['hours']).toObject() }}"),
        json!({"hours": 24})
    );
    assert_eq!(value("={{ DateTime.fromISO('2024-01-02T00:00:00Z').diff(DateTime.fromISO('2024-01-01T00:00:00Z')).as('minutes') }}"), json!(1440));
    assert_eq!(
        value("={{ DateTime.fromISO('bad').isValid }}"),
        json!(false)
    );
    assert_eq!(value("={{ DateTime.fromISO('bad').toISO() }}"), json!(null));
    assert_eq!(
        value("={{ DateTime.fromISO('2024-01-01') < DateTime.fromISO('2024-01-02') }}"),
        json!(true)
    );
    assert_eq!(
        value("={{ DateTime.fromISO('2024-01-01T00:00:00Z').plus({ hours: 36 }).toISO() }}"),
        json!("2024-01-02T12:00:00.000Z")
    );
    assert_eq!(
        value("={{ DateTime.fromISO('2024-01-01T00:00:00Z').toSeconds() }}"),
        json!(1704067200)
    );
}
