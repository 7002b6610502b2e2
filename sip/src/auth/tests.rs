//! Digest against the RFC examples, and client ↔ server as a registrar would run it.

use super::*;

const RFC2617_CHALLENGE: &str = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

const RFC7616_CHALLENGE: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

const RFC7616_AUTHORIZATION: &str = r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

const REALM: &str = "sotto.example";
const URI: &str = "sip:sotto.example";
const T0: u64 = 1_700_000_000;

fn server() -> DigestServer {
    DigestServer::new(REALM, b"0123456789abcdef0123456789abcdef".to_vec())
}

fn alice(secret: Secret<'_>) -> Account<'_> {
    Account {
        username: "alice",
        secret,
    }
}

/// A client answering a fresh challenge from `server` at `at`.
fn register(server: &DigestServer, at: u64, password: &str) -> Credentials {
    let challenge = Challenge::parse(&server.challenge(at, 7, false).to_string()).unwrap();
    let creds = challenge
        .respond("alice", password, "REGISTER", URI, "c0ffee", 1)
        .unwrap();
    Credentials::parse(&creds.to_string()).unwrap()
}

// ---- RFC vectors ---------------------------------------------------------------------

#[test]
fn rfc_2617_example_md5_qop_auth() {
    let c = Challenge::parse(RFC2617_CHALLENGE).unwrap();
    assert_eq!(c.algorithm, Algorithm::Md5);
    assert_eq!(c.qop, ["auth", "auth-int"]);
    let creds = c
        .respond(
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "0a4f113b",
            1,
        )
        .unwrap();
    assert_eq!(creds.response, "6629fae49393a05397450978507c4ef1");
    let text = creds.to_string();
    for part in [
        "username=\"Mufasa\"",
        "qop=auth",
        "nc=00000001",
        "cnonce=\"0a4f113b\"",
        "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
}

#[test]
fn rfc_7616_example_sha256_and_md5() {
    let c = Challenge::parse(RFC7616_CHALLENGE).unwrap();
    assert_eq!(c.algorithm, Algorithm::Sha256);
    let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
    let creds = c
        .respond(
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            cnonce,
            1,
        )
        .unwrap();
    assert_eq!(
        creds.response,
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    );
    assert_eq!(Credentials::parse(RFC7616_AUTHORIZATION).unwrap(), creds);

    let md5 = Challenge {
        algorithm: Algorithm::Md5,
        ..c
    };
    let creds = md5
        .respond(
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            cnonce,
            1,
        )
        .unwrap();
    assert_eq!(creds.response, "8ca523f5e9506fed4657c9700eebdbec");
}

/// RFC 2069 §2.4's inputs without qop. The response printed there is a known erratum;
/// this is the value the RFC 2617 §3.2.2.1 formula gives.
#[test]
fn without_qop_the_rfc_2069_form_is_used() {
    let c = Challenge::parse(
        r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
    )
    .unwrap();
    let creds = c
        .respond(
            "Mufasa",
            "CircleOfLife",
            "GET",
            "/dir/index.html",
            "ignored",
            1,
        )
        .unwrap();
    assert_eq!(creds.response, "1949323746fe6a43ef61f9606e7febea");
    assert_eq!(
        (creds.qop, creds.nc, creds.cnonce.as_deref()),
        (None, None, None)
    );
    let text = creds.to_string();
    assert!(!text.contains("qop") && !text.contains("nc=") && !text.contains("cnonce"));
}

#[test]
fn auth_int_only_challenges_are_refused_by_the_client() {
    let c = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth-int""#).unwrap();
    assert_eq!(
        c.respond("u", "p", "INVITE", "sip:x", "c", 1),
        Err(AuthError::UnsupportedQop("auth-int".into()))
    );
}

// ---- client ↔ server -----------------------------------------------------------------

#[test]
fn the_challenge_says_what_a_phone_needs() {
    let text = server().challenge(T0, 1, false).to_string();
    assert!(
        text.starts_with("Digest realm=\"sotto.example\", nonce=\""),
        "{text}"
    );
    for part in ["algorithm=MD5", "qop=\"auth\"", "opaque=\""] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    assert!(!text.contains("stale"));
    assert!(server()
        .challenge(T0, 1, true)
        .to_string()
        .ends_with(", stale=true"));
    assert_ne!(
        server().challenge(T0, 1, false).nonce,
        server().challenge(T0, 2, false).nonce
    );
}

#[test]
fn round_trip_md5_with_password_and_with_ha1() {
    let s = server();
    let creds = register(&s, T0, "secret");
    assert_eq!(
        s.verify(
            &creds,
            "REGISTER",
            URI,
            alice(Secret::Password("secret")),
            T0 + 5
        ),
        Ok(())
    );
    let stored = ha1(Algorithm::Md5, "alice", REALM, "secret");
    assert_eq!(
        s.verify(&creds, "REGISTER", URI, alice(Secret::Ha1(&stored)), T0 + 5),
        Ok(())
    );
}

#[test]
fn round_trip_sha256_and_sess_variants() {
    for algorithm in [Algorithm::Sha256, Algorithm::Sha256Sess, Algorithm::Md5Sess] {
        let s = server().with_algorithms(&[algorithm]);
        let creds = register(&s, T0, "secret");
        assert_eq!(creds.algorithm, Some(algorithm));
        let stored = ha1(algorithm, "alice", REALM, "secret");
        assert_eq!(
            s.verify(&creds, "REGISTER", URI, alice(Secret::Ha1(&stored)), T0),
            Ok(()),
            "{algorithm}"
        );
        assert_eq!(
            s.verify(
                &creds,
                "REGISTER",
                URI,
                alice(Secret::Password("secret")),
                T0
            ),
            Ok(())
        );
    }
}

#[test]
fn several_algorithms_give_several_challenges_with_one_nonce() {
    let s = server().with_algorithms(&[Algorithm::Sha256, Algorithm::Md5]);
    let all = s.challenges(T0, 3, false);
    assert_eq!(
        all.iter().map(|c| c.algorithm).collect::<Vec<_>>(),
        [Algorithm::Sha256, Algorithm::Md5]
    );
    assert_eq!(all[0].nonce, all[1].nonce);
    // An old phone answers the MD5 one; the server accepts it.
    let creds = all[1]
        .respond("alice", "pw", "REGISTER", URI, "cn", 1)
        .unwrap();
    assert_eq!(
        s.verify(&creds, "REGISTER", URI, alice(Secret::Password("pw")), T0),
        Ok(())
    );
}

#[test]
fn wrong_password_is_wrong_response() {
    let s = server();
    let creds = register(&s, T0, "guess");
    assert_eq!(
        s.verify(
            &creds,
            "REGISTER",
            URI,
            alice(Secret::Password("secret")),
            T0
        ),
        Err(VerifyError::WrongResponse)
    );
}

#[test]
fn an_expired_nonce_is_stale_only_when_the_password_was_right() {
    let s = server().with_nonce_lifetime(60);
    let right = register(&s, T0, "secret");
    assert_eq!(
        s.verify(
            &right,
            "REGISTER",
            URI,
            alice(Secret::Password("secret")),
            T0 + 60
        ),
        Ok(())
    );
    let late = s.verify(
        &right,
        "REGISTER",
        URI,
        alice(Secret::Password("secret")),
        T0 + 61,
    );
    assert_eq!(late, Err(VerifyError::StaleNonce));
    assert!(late.unwrap_err().is_stale());
    // A nonce dated after "now" (our clock went back) is also just stale.
    assert_eq!(
        s.verify(
            &right,
            "REGISTER",
            URI,
            alice(Secret::Password("secret")),
            T0 - 1
        ),
        Err(VerifyError::StaleNonce)
    );
    let wrong = register(&s, T0, "guess");
    assert_eq!(
        s.verify(
            &wrong,
            "REGISTER",
            URI,
            alice(Secret::Password("secret")),
            T0 + 61
        ),
        Err(VerifyError::WrongResponse)
    );
}

#[test]
fn tampered_fields_are_refused() {
    let s = server();
    let good = register(&s, T0, "secret");
    let check = |c: &Credentials, method: &str, uri: &str| {
        s.verify(c, method, uri, alice(Secret::Password("secret")), T0)
    };
    let changed = |f: &dyn Fn(&mut Credentials)| {
        let mut c = good.clone();
        f(&mut c);
        c
    };

    assert_eq!(
        check(&good, "INVITE", URI),
        Err(VerifyError::WrongResponse),
        "method"
    );
    assert_eq!(
        check(&good, "REGISTER", "sip:other.example"),
        Err(VerifyError::UriMismatch)
    );
    let uri = changed(&|c| c.uri = "sip:other.example".into());
    assert_eq!(
        check(&uri, "REGISTER", "sip:other.example"),
        Err(VerifyError::WrongResponse)
    );
    let nc = changed(&|c| c.nc = Some(2));
    assert_eq!(check(&nc, "REGISTER", URI), Err(VerifyError::WrongResponse));
    let cnonce = changed(&|c| c.cnonce = Some("other".into()));
    assert_eq!(
        check(&cnonce, "REGISTER", URI),
        Err(VerifyError::WrongResponse)
    );
    let realm = changed(&|c| c.realm = "evil.example".into());
    assert_eq!(
        check(&realm, "REGISTER", URI),
        Err(VerifyError::RealmMismatch)
    );
    let user = changed(&|c| c.username = "bob".into());
    assert_eq!(
        check(&user, "REGISTER", URI),
        Err(VerifyError::UsernameMismatch)
    );
    let opaque = changed(&|c| c.opaque = Some("00".into()));
    assert_eq!(
        check(&opaque, "REGISTER", URI),
        Err(VerifyError::OpaqueMismatch)
    );
    let no_qop = changed(&|c| c.qop = None);
    assert_eq!(
        check(&no_qop, "REGISTER", URI),
        Err(VerifyError::QopRequired)
    );
    let sha = changed(&|c| c.algorithm = Some(Algorithm::Sha256));
    assert_eq!(
        check(&sha, "REGISTER", URI),
        Err(VerifyError::AlgorithmNotOffered(Algorithm::Sha256))
    );

    // A nonce with its date moved forward, or minted under another secret.
    let mut later = good.nonce.clone();
    later.replace_range(15..16, "f");
    let date = changed(&|c| c.nonce = later.clone());
    assert_eq!(
        check(&date, "REGISTER", URI),
        Err(VerifyError::InvalidNonce)
    );
    let foreign = DigestServer::new(REALM, b"another secret".to_vec());
    let forged = register(&foreign, T0, "secret");
    let forged = Credentials {
        opaque: None,
        ..forged
    };
    assert_eq!(
        check(&forged, "REGISTER", URI),
        Err(VerifyError::InvalidNonce)
    );
    for junk in [
        "",
        "zz",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        &"g".repeat(64),
    ] {
        let c = changed(&|c| c.nonce = junk.to_owned());
        assert_eq!(
            check(&c, "REGISTER", URI),
            Err(VerifyError::InvalidNonce),
            "{junk:?}"
        );
    }
}

/// Every character of a nonce is covered by its tag: change any one (date, salt or tag
/// itself) and the nonce is not ours, even when the response is computed over it with
/// the right password.
#[test]
fn a_nonce_with_one_changed_byte_is_refused() {
    let s = server();
    let challenge = s.challenge(T0, 7, false);
    let nonce = challenge.nonce.clone();
    assert_eq!(nonce.len(), 64);
    for at in 0..nonce.len() {
        let mut bytes = nonce.clone().into_bytes();
        bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(bytes).unwrap();
        let forged = Challenge {
            nonce: tampered,
            ..challenge.clone()
        };
        let creds = forged
            .respond("alice", "secret", "REGISTER", URI, "c0ffee", 1)
            .unwrap();
        assert_eq!(
            s.verify(
                &creds,
                "REGISTER",
                URI,
                alice(Secret::Password("secret")),
                T0
            ),
            Err(VerifyError::InvalidNonce),
            "byte {at}"
        );
    }
    // The untouched nonce, answered the same way, is accepted.
    let creds = challenge
        .respond("alice", "secret", "REGISTER", URI, "c0ffee", 1)
        .unwrap();
    assert_eq!(
        s.verify(
            &creds,
            "REGISTER",
            URI,
            alice(Secret::Password("secret")),
            T0
        ),
        Ok(())
    );
}

#[test]
fn a_missing_opaque_is_tolerated_and_case_of_hex_does_not_matter() {
    let s = server();
    let mut c = register(&s, T0, "secret");
    c.opaque = None;
    c.response = c.response.to_ascii_uppercase();
    assert_eq!(
        s.verify(&c, "REGISTER", URI, alice(Secret::Password("secret")), T0),
        Ok(())
    );
}

// ---- header values from peers ----------------------------------------------------------

#[test]
fn credentials_as_phones_write_them() {
    // Quoted algorithm/qop/nc (seen in the wild), odd spacing, unknown parameters.
    let c = Credentials::parse(
        "Digest username=\"1001\",realm=\"sotto.example\" , nonce=\"abc\",uri=\"sip:sotto.example;transport=tcp\",\
         response=\"0123\",algorithm=\"MD5\",qop=\"auth\",nc=\"0000000a\",cnonce=\"x,y\",userhash=false",
    )
    .unwrap();
    assert_eq!(c.username, "1001");
    assert_eq!(c.uri, "sip:sotto.example;transport=tcp");
    assert_eq!(
        (c.algorithm(), c.qop, c.nc),
        (Algorithm::Md5, Some(Qop::Auth), Some(10))
    );
    assert_eq!(c.cnonce.as_deref(), Some("x,y"));
}

#[test]
fn usernames_with_quotes_survive_printing() {
    let c = Challenge::parse(r#"Digest realm="r", nonce="n", qop="auth""#).unwrap();
    let creds = c
        .respond(r#"a"b\c"#, "p", "REGISTER", "sip:r", "cn", 1)
        .unwrap();
    assert_eq!(Credentials::parse(&creds.to_string()).unwrap(), creds);
}

#[test]
fn garbage_header_values_are_errors() {
    for bad in [
        "",
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Digest",
        "Digest realm=\"r\"",
        "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256",
        "Digest realm=\"r\", nonce=\"n\", realm=\"s\"",
        "Digest realm=\"r, nonce=\"n\"",
        "Digest realm=r nonce=n",
        "\u{0}\u{1}\u{2}",
    ] {
        assert!(Challenge::parse(bad).is_err(), "challenge {bad:?}");
    }
    let base = r#"Digest username="u", realm="r", nonce="n", uri="sip:r", response="00""#;
    assert!(Credentials::parse(base).is_ok());
    for suffix in [
        ", nc=xyz",
        ", nc=123456789",
        ", qop=auth-int",
        ", algorithm=foo",
        ", response=\"1\"",
    ] {
        assert!(
            Credentials::parse(&format!("{base}{suffix}")).is_err(),
            "{suffix}"
        );
    }
    for missing in ["username", "realm", "nonce", "uri", "response"] {
        let without: Vec<&str> = base
            .trim_start_matches("Digest ")
            .split(", ")
            .filter(|p| !p.starts_with(missing))
            .collect();
        let header = format!("Digest {}", without.join(", "));
        assert_eq!(
            Credentials::parse(&header),
            Err(AuthError::MissingParameter(missing))
        );
    }
}

#[test]
fn truncated_and_mutated_values_never_panic() {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let s = server();
    let real = register(&s, T0, "secret").to_string();
    for text in [
        RFC2617_CHALLENGE,
        RFC7616_CHALLENGE,
        RFC7616_AUTHORIZATION,
        real.as_str(),
    ] {
        for (end, _) in text.char_indices() {
            let _ = Challenge::parse(&text[..end]);
            let _ = Credentials::parse(&text[..end]);
        }
        let alphabet = ['"', '\\', ',', '=', ' ', 'a', '0', 'é', '\0'];
        for _ in 0..2000 {
            let mut chars: Vec<char> = text.chars().collect();
            for _ in 0..(next() % 6 + 1) {
                let at = (next() as usize) % chars.len();
                let c = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 => chars[at] = c,
                    1 => chars.insert(at, c),
                    _ => drop(chars.remove(at)),
                }
            }
            let mutated: String = chars.into_iter().collect();
            let _ = Challenge::parse(&mutated);
            if let Ok(c) = Credentials::parse(&mutated) {
                let _ = s.verify(&c, "REGISTER", URI, alice(Secret::Password("secret")), T0);
                let _ = s.verify(&c, "REGISTER", URI, alice(Secret::Ha1("zz")), T0);
            }
        }
    }
}
