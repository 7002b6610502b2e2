//! The dialog route set (§12.1.1, §12.1.2) and how a request follows it (§12.2.1.1).

use rsip::{Header, Param, Uri, UriWithParams};

/// The proxies an in-dialog request traverses, nearest to us first.
///
/// Built once from the Record-Route of the dialog-creating message: the UAS takes the
/// request's Record-Route as-is (§12.1.1), the UAC takes the response's in reverse
/// (§12.1.2); a 2xx recomputes it for an early dialog (§13.2.2.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteSet(Vec<UriWithParams>);

impl RouteSet {
    /// The UAS route set: Record-Route values in the order the request carried them.
    pub fn from_record_route_as_uas(record_route: Vec<UriWithParams>) -> Self {
        Self(record_route)
    }

    /// The UAC route set: Record-Route values of the response in reverse order.
    pub fn from_record_route_as_uac(mut record_route: Vec<UriWithParams>) -> Self {
        record_route.reverse();
        Self(record_route)
    }

    /// The route entries in the order the request visits them.
    pub fn entries(&self) -> &[UriWithParams] {
        &self.0
    }

    /// No proxy recorded a route: requests go straight to the remote target.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the next hop is a strict router (RFC 2543 style): first entry lacks `lr`.
    pub fn first_hop_is_strict(&self) -> bool {
        self.0.first().is_some_and(|first| !has_lr(&first.uri))
    }

    /// The Request-URI and Route headers of a request to `remote_target` (§12.2.1.1).
    ///
    /// - empty route set: Request-URI is the remote target, no Route;
    /// - loose first hop (`lr`): Request-URI is the remote target, Route is the whole set;
    /// - strict first hop: Request-URI is the first route (stripped of parameters a
    ///   Request-URI may not carry), Route is the rest, then the remote target last.
    pub fn request_target(&self, remote_target: &Uri) -> (Uri, Vec<Header>) {
        let route =
            |entry: &UriWithParams| Header::Route(rsip::headers::Route::from(entry.to_string()));
        match self.0.split_first() {
            None => (as_request_uri(remote_target), Vec::new()),
            Some((first, _)) if has_lr(&first.uri) => (
                as_request_uri(remote_target),
                self.0.iter().map(route).collect(),
            ),
            Some((first, rest)) => {
                let mut routes: Vec<Header> = rest.iter().map(route).collect();
                let target = UriWithParams {
                    uri: remote_target.clone(),
                    params: Vec::new(),
                };
                routes.push(route(&target));
                (as_request_uri(&first.uri), routes)
            }
        }
    }

    /// The URI the next hop is taken from (§8.1.2): the first route, else the target.
    pub fn next_hop<'a>(&'a self, remote_target: &'a Uri) -> &'a Uri {
        self.0.first().map_or(remote_target, |first| &first.uri)
    }
}

/// `lr` marks a loose router (§19.1.1); `lr=on` is a common pre-RFC spelling.
fn has_lr(uri: &Uri) -> bool {
    uri.params.iter().any(|p| match p {
        Param::Lr => true,
        Param::Other(name, _) => name.value().eq_ignore_ascii_case("lr"),
        _ => false,
    })
}

/// A URI as a Request-URI: no `method` parameter and no headers (§19.1.1, Table 1).
fn as_request_uri(uri: &Uri) -> Uri {
    let mut uri = uri.clone();
    uri.params.retain(|p| !matches!(p, Param::Method(_)));
    uri.headers.clear();
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(values: &[&str]) -> Vec<UriWithParams> {
        values
            .iter()
            .map(|v| UriWithParams {
                uri: Uri::try_from(*v).unwrap(),
                params: Vec::new(),
            })
            .collect()
    }

    fn route_values(headers: &[Header]) -> Vec<String> {
        headers
            .iter()
            .map(|h| match h {
                Header::Route(r) => rsip::headers::UntypedHeader::value(r).to_string(),
                other => panic!("not a Route: {other}"),
            })
            .collect()
    }

    #[test]
    fn loose_route_set_keeps_target_in_request_uri() {
        let set = RouteSet::from_record_route_as_uac(entries(&[
            "sip:p2.example;lr",
            "sip:p1.example;lr",
        ]));
        let target = Uri::try_from("sip:bob@192.0.2.4").unwrap();
        let (ruri, routes) = set.request_target(&target);
        assert_eq!(ruri, target);
        assert_eq!(
            route_values(&routes),
            ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
        );
        assert!(!set.first_hop_is_strict());
    }

    #[test]
    fn strict_first_hop_takes_request_uri_and_target_goes_last() {
        let set = RouteSet::from_record_route_as_uas(entries(&[
            "sip:strict.example;maddr=192.0.2.9;method=INVITE",
            "sip:p1.example;lr",
        ]));
        let target = Uri::try_from("sip:alice@192.0.2.1").unwrap();
        let (ruri, routes) = set.request_target(&target);
        assert!(set.first_hop_is_strict());
        assert_eq!(ruri.to_string(), "sip:strict.example;maddr=192.0.2.9");
        assert_eq!(
            route_values(&routes),
            ["<sip:p1.example;lr>", "<sip:alice@192.0.2.1>"]
        );
    }

    #[test]
    fn empty_route_set_sends_straight_to_target() {
        let target = Uri::try_from("sip:bob@192.0.2.4:5070").unwrap();
        let (ruri, routes) = RouteSet::default().request_target(&target);
        assert_eq!(ruri, target);
        assert!(routes.is_empty());
    }

    #[test]
    fn lr_on_counts_as_loose() {
        let set = RouteSet::from_record_route_as_uas(entries(&["sip:old.example;lr=on"]));
        assert!(!set.first_hop_is_strict());
    }
}
