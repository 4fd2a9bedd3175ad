//! Tests of [`super`]: query strings, path parameters, the trigger item.

use super::*;

fn json(v: Value<'_>) -> String {
    let mut out = Vec::new();
    v.write_json(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn query_repeated_keys_become_arrays_and_empty_values_strings() {
    let arena = Bump::new();
    let q = parse_query(&arena, "a=1&b=x%20y&a=2&empty=&plus=a+b&a=3");
    assert_eq!(
        json(q),
        r#"{"a":["1","2","3"],"b":"x y","empty":"","plus":"a b"}"#
    );
}

#[test]
fn query_keeps_unicode_and_bad_escapes() {
    let arena = Bump::new();
    let q = parse_query(&arena, "n=%C3%A9t%C3%A9&bad=%zz&tail=%4");
    assert_eq!(json(q), r#"{"n":"été","bad":"%zz","tail":"%4"}"#);
}

#[test]
fn empty_query_is_an_empty_object() {
    let arena = Bump::new();
    assert_eq!(json(parse_query(&arena, "")), "{}");
    assert_eq!(json(parse_query(&arena, "&&")), "{}");
}

#[test]
fn path_params_are_extracted() {
    assert_eq!(
        match_path("user/:id/x", "user/42/x"),
        Some(vec![("id", "42")])
    );
    assert_eq!(match_path("user/:id", "user/42/x"), None);
    assert_eq!(match_path("g/case", "g/other"), None);
    assert_eq!(match_path("g/case", "g/case"), Some(vec![]));
    assert_eq!(match_path("g/case", "g/case/x"), None);
    assert_eq!(match_path("a/:id", "a/é"), Some(vec![("id", "é")]));
    assert_eq!(trim_slashes("//a/b//"), "a/b");
    assert_eq!(trim_slashes("///"), "");
    assert_eq!(trim_slashes_end("é/"), "é");
}

#[test]
fn uppercase_check_agrees_with_the_byte_loop() {
    // Every byte value at every position of every length around the word size.
    for len in 0..=20 {
        for at in 0..len {
            for b in 0..=255u8 {
                let mut bytes = vec![b'a'; len];
                bytes[at] = b;
                assert_eq!(
                    has_ascii_uppercase(&bytes),
                    bytes.iter().any(u8::is_ascii_uppercase),
                    "{bytes:?}"
                );
            }
        }
    }
    for name in [
        "content-type",
        "Content-Type",
        "x-custom-headeR",
        "é-Z",
        "\u{7f}\u{80}",
    ] {
        assert_eq!(
            has_ascii_uppercase(name.as_bytes()),
            name.bytes().any(|b| b.is_ascii_uppercase()),
            "{name:?}"
        );
    }
}

#[test]
fn trigger_item_lower_cases_header_names() {
    let arena = Bump::new();
    let headers = [
        ("X-Custom", "v"),
        ("content-type", "application/json"),
        ("x-long-header-naMe", "w"),
    ];
    let request = WebhookRequest {
        method: "POST",
        path: "/webhook/p",
        query: "",
        headers: &headers,
        body: Value::Null,
    };
    let url = webhook_url("http://127.0.0.1:5690/", "/p");
    let item = trigger_item(&arena, &request, &[], arena.alloc_str(&url));
    assert_eq!(item.json.get("headers").get("x-custom").as_str(), Some("v"));
    assert_eq!(
        item.json.get("headers").get("x-long-header-name").as_str(),
        Some("w")
    );
    assert_eq!(
        item.json.get("headers").get("content-type").as_str(),
        Some("application/json")
    );
    assert_eq!(
        item.json.get("webhookUrl").as_str(),
        Some("http://127.0.0.1:5690/webhook/p")
    );
}

#[test]
fn header_names_are_lower_cased_as_to_ascii_lowercase_does() {
    let names = [
        "content-type",
        "Content-Type",
        "HOST",
        "X-Ünïcode-Naмe",
        "é-Z",
        "x-long-header-name-with-Upper-At-The-End-Z",
        "\u{7f}\u{80}A",
        "",
    ];
    let arena = Bump::new();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (*n, "v")).collect();
    let request = WebhookRequest {
        method: "POST",
        path: "/webhook/p",
        query: "",
        headers: &headers,
        body: Value::Undefined,
    };
    let item = trigger_item(&arena, &request, &[], "http://h/webhook/p");
    let Value::Object(members) = item.json.get("headers") else {
        panic!("headers are an object");
    };
    let got: Vec<&str> = members.iter().map(|(k, _)| *k).collect();
    let expected: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    assert_eq!(got, expected);
    // The request's own names are left as they were.
    assert_eq!(request.headers[1].0, "Content-Type");
}

#[test]
fn find_webhook_routes_as_the_data_plane_router() {
    use crate::engine::test_support::{access, archive, plan_from_workflow};
    use crate::router::{Lookup, Router};
    use linkflow_codec::plan::ArchivedTrigger;

    let hook = |name: &str, path: &str, method: &str| {
        serde_json::json!({"name": name, "type": "n8n-nodes-base.webhook", "typeVersion": 2,
            "position": [0, 0], "parameters": {"path": path, "httpMethod": method}})
    };
    // The dynamic route comes first in the plan: the static one must still win.
    let bytes = archive(&plan_from_workflow(&serde_json::json!({
    "name": "w", "connections": {}, "nodes": [
        hook("Dynamic", "user/:id", "GET"),
        hook("Static", "user/me", "GET"),
        hook("Hook", "/hook/", "POST"),
        hook("Pair", "a/:x/:y", "POST"),
    ]})));
    let plan = access(&bytes);
    let router = Router::build([plan], "");
    let trigger_of = |webhook| {
        plan.triggers
            .iter()
            .position(|t| matches!(t, ArchivedTrigger::Webhook(w) if std::ptr::eq(w, webhook)))
    };
    for method in ["GET", "POST", "get"] {
        for path in [
            "/webhook/user/me",
            "/webhook//user/me",
            "/webhook/user/7",
            "/webhook/user/",
            "/webhook/hook",
            "/webhook//hook//",
            "/webhook-test/hook",
            "/webhook/a/1/2",
            "/webhook/a//2",
            "/webhook/a/é/✓",
            "/webhook/none",
            "/other/hook",
        ] {
            let found = find_webhook(plan, method, path).map(|(webhook, params)| {
                let params: Vec<(String, String)> = params
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
                (trigger_of(webhook), params)
            });
            let routed = match router.lookup(&method.to_ascii_uppercase(), path, true) {
                Lookup::Found(index) => {
                    let route = router.route(index);
                    let params: Vec<(String, String)> = route
                        .params(path)
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect();
                    Some((Some(route.trigger), params))
                }
                _ => None,
            };
            assert_eq!(found, routed, "{method} {path}");
        }
    }
    // Where `linkflow run` used to differ from a shard: the static route over an earlier
    // dynamic one, and slashes trimmed at the start of the path too.
    let (webhook, _) = find_webhook(plan, "GET", "/webhook/user/me").expect("routed");
    assert_eq!(
        plan.nodes[webhook.node.to_native() as usize].name.as_str(),
        "Static"
    );
    assert!(find_webhook(plan, "POST", "/webhook//hook").is_some());
}
