//! `edgelb.io/ssl-redirect`: on port 80, the hosts whose TLS is held by an Ingress that asks for it answer with a
//! redirect to HTTPS; the other hosts of the same listener are served as they are.

mod common;

use common::*;
use edgelb_config::desired::DesiredState;

#[test]
fn the_hosts_whose_tls_holder_asks_are_redirected_and_the_others_served() {
    let plan = plan(&["ingress.yaml", "ingress-redirect.yaml"], &settings());
    let http = l7(&plan, "ing-edgelb-80");
    assert_eq!(
        site(http),
        [
            "*.wild.example.test [-] -> 308 https",
            "a.example.test [-]",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/old-tls",
            "b.example.test [-] -> 308 https",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/old-tls",
            "c.example.test [-]",
            "  / (Prefix) -> svc-shop.api-8080-tcp <- ingress shop/young-redirect",
            "d.example.test [-]",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/no-tls",
            "e.example.test [-]",
            "  / (Prefix) -> svc-shop.web-80-tcp <- ingress shop/bad-value",
            "f.example.test [-] -> 308 https",
        ]
    );
    let https = l7(&plan, "ing-edgelb-443");
    assert!(https.hosts.iter().all(|h| !h.redirect_to_https));
    assert_eq!(
        site(https)[..2],
        [
            "*.wild.example.test [tls-shop.shop-tls]",
            "a.example.test [tls-shop.shop-tls]"
        ]
    );
    assert!(
        plan.desired.l7.iter().all(|l| !l.redirect_to_https),
        "no listener redirects as a whole"
    );
    assert_eq!(plan.conflicts, vec![]);
    assert_eq!(
        events(&plan),
        [
            "Warning Ingress shop/bad-value InvalidAnnotation: edgelb.io/ssl-redirect: \"yes\" is not \"true\" or \
             \"false\": nothing is redirected",
            "Warning Ingress shop/no-tls InvalidAnnotation: edgelb.io/ssl-redirect is \"true\" but the Ingress has \
             no tls: nothing is redirected",
            "Warning Ingress shop/old-tls SecretNotFound: TLS Secret shop/missing-tls does not exist: its hosts are \
             served with the listener's default certificate",
        ]
    );
    let json = plan.desired.to_json();
    assert_eq!(
        json.matches(r#""redirect_to_https":true"#).count(),
        3,
        "{json}"
    );
    assert_eq!(DesiredState::from_json(&json).unwrap(), plan.desired);
    assert_eq!(plan.desired.validate_l7(), vec![]);
    assert_accepted(&plan.desired);
}

#[test]
fn an_own_vip_site_redirects_its_tls_host_and_serves_its_plain_one() {
    let plan = plan(&["ingress.yaml", "ingress-own-vip.yaml"], &settings());
    for name in ["ingress-shop.own-web-80", "ingress-shop.own-web-80-v6"] {
        let redirects: Vec<(&str, bool)> = l7(&plan, name)
            .hosts
            .iter()
            .map(|h| (h.host.as_str(), h.redirect_to_https))
            .collect();
        assert_eq!(
            redirects,
            [
                ("plain.shop.example.test", false),
                ("secure.shop.example.test", true)
            ],
            "{name}"
        );
    }
    // The class's site on the same plan is not touched by own-web's annotation.
    assert!(l7(&plan, "ing-edgelb-80")
        .hosts
        .iter()
        .all(|h| !h.redirect_to_https));
}
