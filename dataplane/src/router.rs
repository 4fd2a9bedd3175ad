//! Webhook routing over a shard's installed plans: n8n's URLs (`/webhook/<path>`,
//! `/webhook-test/<path>`), `:name` path parameters, several methods per node, 404 vs 405.
//! Built once per plan install, read per request without allocation.

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use linkflow_codec::plan::{ArchivedPlan, ArchivedTrigger};

use crate::engine::value::key_eq;
use crate::engine::webhook::{trim_slashes, webhook_url};

/// Production webhook prefix.
pub const WEBHOOK_PREFIX: &str = "/webhook/";
/// Test webhook prefix (served only in test mode).
pub const WEBHOOK_TEST_PREFIX: &str = "/webhook-test/";

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Static(String),
    Param(String),
}

/// One webhook trigger of one plan.
#[derive(Debug, Clone)]
pub struct Route {
    /// Index of the plan in the shard's table.
    pub plan: usize,
    /// Index of the trigger in the plan's trigger table.
    pub trigger: usize,
    segments: Vec<Segment>,
    /// The path without leading and trailing `/` when it has no `:name` segment. Why:
    /// such a route matches exactly one path, so one compare decides (no segment walk)
    /// and it has no parameters to extract.
    static_path: Option<String>,
    /// Accepted methods, upper case; empty accepts any.
    methods: Vec<String>,
    /// The trigger item's `webhookUrl`: the same for every request to the route, so
    /// built once here rather than concatenated per request.
    webhook_url: String,
}

/// The routes of a plan table, static routes before parameterised ones (as n8n prefers
/// a static webhook over a dynamic one for the same path).
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
    /// `/webhook/<path>` of each static route, in route order (static routes come first,
    /// so index `i` here is route `i`). Why: most requests name their route exactly as
    /// it is stored, and one compare of the whole path then finds it without stripping
    /// the prefix and trimming slashes.
    exact_paths: Vec<String>,
}

/// Result of a lookup.
#[derive(Debug)]
pub enum Lookup {
    /// A route accepts the method and path: its index ([`Router::route`]).
    Found(usize),
    /// Routes match the path but none accepts the method; `allow` lists the methods.
    MethodNotAllowed {
        /// Comma-separated accepted methods, for the `Allow` header.
        allow: String,
    },
    /// No route matches the path.
    NotFound,
    /// A `/webhook-test/` URL while test mode is off.
    TestDisabled,
}

impl Router {
    /// Routes of `plans` (index = position in the slice), their webhooks served under
    /// `base_url` (ending in `/`).
    pub fn build<'p>(plans: impl IntoIterator<Item = &'p ArchivedPlan>, base_url: &str) -> Self {
        let mut routes = Vec::new();
        for (plan_index, plan) in plans.into_iter().enumerate() {
            for (trigger_index, trigger) in plan.triggers.iter().enumerate() {
                let ArchivedTrigger::Webhook(webhook) = trigger else {
                    continue;
                };
                let path = trim_slashes(webhook.path.as_str());
                let segments: Vec<Segment> = path
                    .split('/')
                    .map(|s| match s.strip_prefix(':') {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Static(s.to_owned()),
                    })
                    .collect();
                let static_path = segments
                    .iter()
                    .all(|s| matches!(s, Segment::Static(_)))
                    .then(|| path.to_owned());
                routes.push(Route {
                    plan: plan_index,
                    trigger: trigger_index,
                    segments,
                    static_path,
                    methods: webhook
                        .methods
                        .iter()
                        .map(|m| m.as_str().to_ascii_uppercase())
                        .collect(),
                    webhook_url: webhook_url(base_url, webhook.path.as_str()),
                });
            }
        }
        // Stable: static routes (no parameter) first, each group in plan order.
        routes.sort_by_key(|r| {
            r.segments
                .iter()
                .filter(|s| matches!(s, Segment::Param(_)))
                .count()
        });
        let exact_paths = routes
            .iter()
            .map_while(|r| r.static_path.as_ref())
            .map(|path| format!("{WEBHOOK_PREFIX}{path}"))
            .collect();
        Router {
            routes,
            exact_paths,
        }
    }

    /// The route at `index` (as [`Lookup::Found`] gave it).
    pub fn route(&self, index: usize) -> &Route {
        &self.routes[index]
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when no plan has a webhook.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Finds the route for `method` and `path` (no query string).
    #[inline]
    pub fn lookup(&self, method: &str, path: &str, test_mode: bool) -> Lookup {
        // A static route's exact URL. The same answer as the walk below: static routes
        // come first, and a static route matches a path only when its trimmed path
        // equals the request's, which holds when the whole paths are equal; a path that
        // differs (slashes to trim, a test URL, a dynamic route, no route) goes the
        // general way.
        for (index, exact) in self.exact_paths.iter().enumerate() {
            if key_eq(exact, path) && self.routes[index].accepts(method) {
                return Lookup::Found(index);
            }
        }
        self.lookup_general(method, path, test_mode)
    }

    /// [`Router::lookup`] by prefix, trimmed path and route order: what it answers for
    /// every path.
    #[inline(never)]
    fn lookup_general(&self, method: &str, path: &str, test_mode: bool) -> Lookup {
        let rest = if let Some(rest) = path.strip_prefix(WEBHOOK_PREFIX) {
            rest
        } else if let Some(rest) = path.strip_prefix(WEBHOOK_TEST_PREFIX) {
            if !test_mode {
                return Lookup::TestDisabled;
            }
            rest
        } else {
            return Lookup::NotFound;
        };
        let rest = trim_slashes(rest);
        // The hit in one tight loop; what a miss answers (404 or 405 with the methods the
        // path accepts) is worked out apart, so the hit's loop spills nothing for it.
        for (index, route) in self.routes.iter().enumerate() {
            if route.matches_path(rest) && route.accepts(method) {
                return Lookup::Found(index);
            }
        }
        self.miss(rest)
    }

    /// The answer when no route accepts the method and `path` (trimmed, without the
    /// prefix): 405 with every method of the routes matching the path, else 404.
    #[cold]
    #[inline(never)]
    fn miss(&self, path: &str) -> Lookup {
        let mut allow: Option<String> = None;
        for route in self.routes.iter().filter(|r| r.matches_path(path)) {
            let allow = allow.get_or_insert_with(String::new);
            for m in &route.methods {
                if !allow.split(", ").any(|a| a == m) {
                    if !allow.is_empty() {
                        allow.push_str(", ");
                    }
                    allow.push_str(m);
                }
            }
        }
        match allow {
            Some(allow) => Lookup::MethodNotAllowed { allow },
            None => Lookup::NotFound,
        }
    }
}

impl Route {
    /// The `webhookUrl` of the route's trigger items ([`webhook_url`]).
    pub fn webhook_url(&self) -> &str {
        &self.webhook_url
    }

    #[inline]
    fn matches_path(&self, path: &str) -> bool {
        if let Some(static_path) = &self.static_path {
            return key_eq(static_path, path);
        }
        self.matches_segments(path)
    }

    /// True when the route accepts `method` (exactly: the plan stores methods upper case,
    /// as requests carry them).
    #[inline]
    fn accepts(&self, method: &str) -> bool {
        // `key_eq`: method names compare in line, not through `memcmp`.
        self.methods.is_empty() || self.methods.iter().any(|m| key_eq(m, method))
    }

    /// The segment walk: what [`Route::matches_path`] decides for every route. Out of
    /// line: its split iterators would crowd the look-up loop of static routes.
    #[inline(never)]
    fn matches_segments(&self, path: &str) -> bool {
        let mut parts = path.split('/');
        for segment in &self.segments {
            match (segment, parts.next()) {
                (Segment::Static(s), Some(p)) if s == p => {}
                (Segment::Param(_), Some(p)) if !p.is_empty() => {}
                _ => return false,
            }
        }
        parts.next().is_none()
    }

    /// [`Route::params`] collected in `arena`: what the trigger item's `params` is built
    /// from. A static route has none and allocates nothing.
    #[inline]
    pub fn params_in<'a>(&'a self, arena: &'a Bump, path: &'a str) -> &'a [(&'a str, &'a str)] {
        if self.static_path.is_some() {
            return &[];
        }
        let mut params = BumpVec::with_capacity_in(self.segments.len(), arena);
        params.extend(self.params(path));
        params.into_bump_slice()
    }

    /// The `:name` parameters of `path` (which must have matched), in route order.
    // In line: for a static route the iterator is empty and folds away at the call site.
    #[inline]
    pub fn params<'r, 'p>(
        &'r self,
        path: &'p str,
    ) -> impl Iterator<Item = (&'r str, &'p str)> + use<'r, 'p> {
        // A static route has no parameters: nothing to trim or split.
        let (segments, rest): (&[Segment], &str) = match self.static_path {
            Some(_) => (&[], ""),
            None => (
                &self.segments,
                trim_slashes(
                    path.strip_prefix(WEBHOOK_PREFIX)
                        .or_else(|| path.strip_prefix(WEBHOOK_TEST_PREFIX))
                        .unwrap_or(path),
                ),
            ),
        };
        segments
            .iter()
            .zip(rest.split('/'))
            .filter_map(|(segment, part)| match segment {
                Segment::Param(name) => Some((name.as_str(), part)),
                Segment::Static(_) => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::test_support::{access, archive, plan_from_workflow};

    fn plan_bytes(path: &str, methods: &[&str]) -> rkyv::util::AlignedVec {
        let nodes: Vec<serde_json::Value> = methods
            .iter()
            .enumerate()
            .map(|(i, m)| {
                serde_json::json!({
                    "name": format!("Webhook{i}"), "type": "n8n-nodes-base.webhook",
                    "typeVersion": 2, "position": [0, 0],
                    "parameters": {"path": path, "httpMethod": m}
                })
            })
            .collect();
        archive(&plan_from_workflow(
            &serde_json::json!({"name": "w", "nodes": nodes, "connections": {}}),
        ))
    }

    #[test]
    fn static_routes_win_and_params_are_extracted() {
        let dynamic = plan_bytes("user/:id", &["GET"]);
        let fixed = plan_bytes("user/me", &["GET"]);
        let router = Router::build([access(&dynamic), access(&fixed)], "http://127.0.0.1:5690/");
        let Lookup::Found(route) = router.lookup("GET", "/webhook/user/me", false) else {
            panic!("static route expected");
        };
        assert_eq!(router.route(route).plan, 1);
        let Lookup::Found(route) = router.lookup("GET", "/webhook/user/42", false) else {
            panic!("dynamic route expected");
        };
        let route = router.route(route);
        assert_eq!(
            route.params("/webhook/user/42").collect::<Vec<_>>(),
            [("id", "42")]
        );
        let arena = Bump::new();
        assert_eq!(route.params_in(&arena, "/webhook/user/42"), [("id", "42")]);
    }

    #[test]
    fn static_routes_match_as_the_segment_walk_does() {
        let paths = [
            "hook", "/hook/", "a/b", "/a/b//", "a//b", "", "/", "Hook", "hook2", "a/b/c", "é/✓",
        ];
        for pattern in paths {
            let bytes = plan_bytes(pattern, &["POST"]);
            let router = Router::build([access(&bytes)], "http://127.0.0.1:5690/");
            let route = router.route(0);
            assert!(route.static_path.is_some(), "{pattern:?}");
            for path in paths {
                let rest = trim_slashes(path);
                assert_eq!(
                    route.matches_path(rest),
                    route.matches_segments(rest),
                    "{pattern:?} vs {path:?}"
                );
                let url = format!("/webhook/{path}");
                let found = matches!(router.lookup("POST", &url, false), Lookup::Found(0));
                assert_eq!(
                    found,
                    route.matches_segments(rest),
                    "{pattern:?} vs {url:?}"
                );
                if found {
                    assert_eq!(route.params(&url).count(), 0);
                    assert!(route.params_in(&Bump::new(), &url).is_empty());
                }
            }
        }
        let bytes = plan_bytes("user/:id/x", &["POST"]);
        let router = Router::build([access(&bytes)], "http://127.0.0.1:5690/");
        assert!(router.route(0).static_path.is_none());
        assert!(matches!(
            router.lookup("POST", "/webhook//user/7/x/", false),
            Lookup::Found(0)
        ));
        assert_eq!(
            router
                .route(0)
                .params("/webhook//user/7/x/")
                .collect::<Vec<_>>(),
            [("id", "7")]
        );
        assert!(matches!(
            router.lookup("POST", "/webhook/user//x", false),
            Lookup::NotFound
        ));
        // Methods compare exactly (the plan stores them upper case, as requests carry them).
        assert!(matches!(
            router.lookup("post", "/webhook/user/7/x", false),
            Lookup::MethodNotAllowed { .. }
        ));
    }

    #[test]
    fn wrong_method_is_405_with_allow_and_unknown_path_404() {
        let bytes = plan_bytes("hook", &["GET", "PUT"]);
        let router = Router::build([access(&bytes)], "http://127.0.0.1:5690/");
        match router.lookup("POST", "/webhook/hook", false) {
            Lookup::MethodNotAllowed { allow } => assert_eq!(allow, "GET, PUT"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            router.lookup("PUT", "/webhook/hook/", false),
            Lookup::Found(_)
        ));
        assert!(matches!(
            router.lookup("GET", "/webhook/other", false),
            Lookup::NotFound
        ));
        assert!(matches!(
            router.lookup("GET", "/webhook-test/hook", false),
            Lookup::TestDisabled
        ));
        assert!(matches!(
            router.lookup("GET", "/webhook-test/hook", true),
            Lookup::Found(_)
        ));
    }

    #[test]
    fn a_hit_on_a_later_route_and_the_allow_list_of_a_miss() {
        // The static route matches the path first but accepts only GET: the dynamic one
        // that accepts POST answers.
        let fixed = plan_bytes("user/me", &["GET"]);
        let dynamic = plan_bytes("user/:id", &["POST", "PUT"]);
        let router = Router::build([access(&fixed), access(&dynamic)], "http://127.0.0.1:5690/");
        let Lookup::Found(route) = router.lookup("POST", "/webhook/user/me", false) else {
            panic!("the dynamic route accepts POST");
        };
        assert_eq!(router.route(route).plan, 1);
        assert!(matches!(
            router.lookup("GET", "/webhook/user/me/", false),
            Lookup::Found(0)
        ));
        // Every method of every route matching the path, in route order, once each.
        match router.lookup("DELETE", "/webhook/user/me", false) {
            Lookup::MethodNotAllowed { allow } => assert_eq!(allow, "GET, POST, PUT"),
            other => panic!("{other:?}"),
        }
        match router.lookup("GET", "/webhook/user/7", false) {
            Lookup::MethodNotAllowed { allow } => assert_eq!(allow, "POST, PUT"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            router.lookup("GET", "/webhook/users/7", false),
            Lookup::NotFound
        ));
    }

    #[test]
    fn exact_paths_answer_as_the_general_look_up() {
        let plans = [
            plan_bytes("hook", &["GET", "POST"]),
            plan_bytes("/hook/", &["PUT"]),
            plan_bytes("user/me", &["POST"]),
            plan_bytes("user/:id", &["POST", "DELETE"]),
            plan_bytes("", &["POST"]),
            plan_bytes("é/✓", &["POST"]),
            plan_bytes(
                "a/very/long/static/path/beyond/the/inline/compare",
                &["POST"],
            ),
        ];
        let router = Router::build(plans.iter().map(|b| access(b)), "http://h/");
        assert_eq!(
            router.exact_paths.len(),
            7,
            "every static route has an exact path"
        );
        let paths = [
            "/webhook/hook",
            "/webhook/hook/",
            "/webhook//hook",
            "/webhook/Hook",
            "/webhook/user/me",
            "/webhook/user/7",
            "/webhook/",
            "/webhook",
            "/webhook-test/hook",
            "/webhook/é/✓",
            "/webhook/a/very/long/static/path/beyond/the/inline/compare",
            "/webhook/a/very/long/static/path/beyond/the/inline/comparE",
            "/other",
            "",
        ];
        for path in paths {
            for method in ["GET", "POST", "PUT", "DELETE", "post", ""] {
                for test_mode in [false, true] {
                    assert_eq!(
                        format!("{:?}", router.lookup(method, path, test_mode)),
                        format!("{:?}", router.lookup_general(method, path, test_mode)),
                        "{method} {path:?} test mode {test_mode}"
                    );
                }
            }
        }
    }

    #[test]
    fn webhook_urls_are_the_base_webhook_and_the_path_without_leading_slashes() {
        for (base, path) in [
            ("http://127.0.0.1:5690/", "hook"),
            ("http://127.0.0.1:5690/", "//a/b/"),
            ("https://h.example/n8n/", "user/:id"),
            ("http://x/", ""),
            ("http://x/", "é/✓"),
        ] {
            let bytes = plan_bytes(path, &["POST"]);
            let router = Router::build([access(&bytes)], base);
            let expected = format!("{base}webhook/{}", path.trim_start_matches('/'));
            assert_eq!(router.route(0).webhook_url(), expected, "{path:?}");
            assert_eq!(webhook_url(base, path), expected, "{path:?}");
        }
    }

    /// The shard's way to a trigger item (router look-up, parameters collected in the
    /// arena, the route's `webhookUrl` built once) gives the item the engine's general way
    /// gives (`find_webhook`, the URL built for the run), body parsed as the shard does.
    #[test]
    fn routed_trigger_items_match_the_general_path() {
        use crate::engine::webhook::{find_webhook, trigger_item, WebhookRequest};
        use crate::ingress::body::parse_body;
        const BASE: &str = "http://127.0.0.1:5690/";
        type Case<'c> = (
            &'c str,
            &'c str,
            &'c str,
            &'c [(&'c str, &'c str)],
            &'c str,
            &'c str,
        );
        let cases: [Case; 6] = [
            // (route path, request path, query, headers, content type, body)
            (
                "bench",
                "/webhook/bench",
                "",
                &[("content-type", "application/json")],
                "application/json",
                r#"{"a":41,"name":"bench"}"#,
            ),
            (
                // `find_webhook` keeps leading slashes of the request path (the router
                // trims them): trailing ones only, which both ignore.
                "/hook/",
                "/webhook/hook//",
                "a=1&b=x+y&a=2&c=%C3%A9&=&d",
                &[
                    ("Content-Type", "application/json"),
                    ("X-Ünïcode-Naмe", "vâlue ✓"),
                    ("HOST", "h"),
                ],
                "application/json; charset=utf-8",
                r#"{"é":"✓","n":[1,{"x":null}],"e":{},"s":"a\"b"}"#,
            ),
            (
                "user/:id/x",
                "/webhook/user/42/x/",
                "q=",
                &[("Accept", "*/*"), ("User-Agent", "curl/8")],
                "",
                "",
            ),
            (
                "a/:b/:c",
                "/webhook/a/%20/é",
                "",
                &[],
                "text/plain",
                "not json ✓",
            ),
            (
                "é/✓",
                "/webhook/é/✓",
                "x",
                &[("x-long-header-name-with-Upper", "v")],
                "application/x-www-form-urlencoded",
                "a=1&a=2&b=%41",
            ),
            (
                ":only",
                "/webhook/Vâlue",
                "",
                &[("content-length", "0")],
                "application/json",
                "[1,2]",
            ),
        ];
        for (pattern, path, query, headers, content_type, body) in cases {
            let bytes = plan_bytes(pattern, &["POST"]);
            let plan = access(&bytes);
            let router = Router::build([plan], BASE);
            let arena = Bump::new();
            let body = parse_body(
                &arena,
                content_type,
                arena.alloc_slice_copy(body.as_bytes()),
                &mut crate::ingress::body::BodyBuffers::default(),
            )
            .expect("a body the shard reads");
            let request = WebhookRequest {
                method: "POST",
                path,
                query,
                headers,
                body,
            };
            let Lookup::Found(index) = router.lookup("POST", path, false) else {
                panic!("{path:?} must be routed to {pattern:?}");
            };
            let route = router.route(index);
            let routed = trigger_item(
                &arena,
                &request,
                route.params_in(&arena, path),
                route.webhook_url(),
            );
            let (webhook, params) = find_webhook(plan, "POST", path)
                .unwrap_or_else(|| panic!("the general path finds {path:?}"));
            let url = webhook_url(BASE, webhook.path.as_str());
            let general = trigger_item(&arena, &request, &params, arena.alloc_str(&url));
            let json = |item: &crate::engine::item::Item<'_>| {
                let mut out = Vec::new();
                item.json.write_json(&mut out);
                String::from_utf8(out).unwrap()
            };
            assert_eq!(json(routed), json(general), "{pattern:?} {path:?}");
            assert_eq!(routed.paired, general.paired);
        }
    }
}
