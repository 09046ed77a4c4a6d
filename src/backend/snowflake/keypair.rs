//! Snowflake key-pair authentication: the JWT a login request carries instead of a password.
//! Pure: no I/O and no clock; the caller passes the key text, its password and "now", and
//! every error comes before any request is sent.
//!
//! What is signed follows Snowflake's key-pair authentication docs and, where they leave
//! room, snowflake-connector-python (`auth/keypair.py`, reached by Python Jetbase through
//! snowflake-sqlalchemy):
//!
//! - header `{"alg":"RS256","typ":"JWT"}`; claims, in this order, `iss` =
//!   `ACCOUNT.USER.SHA256:<fingerprint>`, `sub` = `ACCOUNT.USER`, `iat` = now and `exp` =
//!   now + lifetime, in whole seconds; base64url without padding; RSASSA-PKCS1-v1_5 with
//!   SHA-256. The bytes are those PyJWT writes for the connector.
//! - the fingerprint is the standard base64 of SHA-256 over the public key's DER
//!   SubjectPublicKeyInfo: what `DESCRIBE USER` shows as `RSA_PUBLIC_KEY_FP`.
//! - the lifetime defaults to 60 seconds, the connector's (`AuthByKeyPair.LIFETIME`): the
//!   JWT is used once, at login. Snowflake accepts at most an hour, the most allowed here.
//! - `ACCOUNT` is the account name part in upper case ([`jwt_account`]): the connector first
//!   cuts what follows the first `.` (a region and cloud after a locator, `privatelink`, a
//!   host name), and for the old `<account>-<id>.global` form also the `-<id>`; its
//!   `keypair.py` cut (before the first `-` when `.global` is present, else before the first
//!   `.`) then changes nothing. `orgname-account_name` is kept whole. `USER` is the user name
//!   in upper case.
//!
//! Keys are PEM: PKCS#8 `PRIVATE KEY`, encrypted PKCS#8 `ENCRYPTED PRIVATE KEY` (PBES2:
//! PBKDF2 with HMAC-SHA-256 or HMAC-SHA-1, or scrypt; AES-CBC or DES-EDE3-CBC, so what
//! `openssl pkcs8 -topk8 -v2 aes-256-cbc` or `-v2 des3` writes, with OpenSSL 1.0's SHA-1 PRF
//! too), and unencrypted PKCS#1 `RSA PRIVATE KEY`. RSA from 2048 to 4096 bits. As in Python
//! Jetbase (`load_pem_private_key`), a password for a key that is not encrypted is an error,
//! and an empty password counts as none. Not read: OpenSSL's traditional encrypted PEM
//! (`Proc-Type`/`DEK-Info` headers) and PBES1; the errors say how to convert. EC keys,
//! which connector 4.x also signs with (ES256), are refused by name for now.
//!
//! Crates, measured on this machine (2 busy cores; clean debug builds of a scratch crate
//! with only the new dependencies): ring signs, and costs nothing, being built already for
//! rustls and sqlx; pkcs8 (with pkcs5: aes, cbc, des, pbkdf2, scrypt) only decrypts an
//! encrypted key: 21 new crates in Cargo.lock, 5.4 to 7.3 s; base64, zeroize and sha1 are in
//! the tree already. RustCrypto `rsa` 0.10 for the RSA part instead would add 8 crates more
//! (rsa, crypto-bigint, crypto-primes, pkcs1, signature, ...; 11.2 s with pkcs8), and its
//! Marvin timing advisory (RUSTSEC-2023-0071) is still open. Neither adds a duplicate
//! version (`cargo tree -d` unchanged). aes stays at 0.9.2: later ones need Rust 1.89.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use pkcs8::der::Encode as _;
use pkcs8::der::asn1::{AnyRef, BitStringRef};
use pkcs8::pkcs5;
use pkcs8::{
    AlgorithmIdentifierRef, EncryptedPrivateKeyInfoRef, ObjectIdentifier, PrivateKeyInfoRef,
    SubjectPublicKeyInfoRef,
};
use ring::rsa::KeyPair as RsaKeyPair;
use ring::{digest, rand, signature};
use zeroize::Zeroizing;

/// How long a JWT is valid by default: the Python connector's 60 seconds.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);
/// The longest lifetime Snowflake accepts.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);

/// The header every JWT here carries (PyJWT's, keys sorted).
const HEADER: &str = r#"{"alg":"RS256","typ":"JWT"}"#;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Where the key comes from, for messages.
const KEY_SETTING: &str =
    "the Snowflake private key (JETBASE_SNOWFLAKE_PRIVATE_KEY, or snowflake_private_key in env.py)";
/// Where its password comes from, for messages.
const PASSWORD_SETTING: &str =
    "JETBASE_SNOWFLAKE_PRIVATE_KEY_PASSWORD (or snowflake_private_key_password in env.py)";

/// Why no JWT could be made. No message holds key material or the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyPairError {
    #[error(
        "{KEY_SETTING} is not a PEM private key: {reason}. Set it to the whole key file, from its -----BEGIN PRIVATE KEY----- line to its -----END PRIVATE KEY----- line, line breaks included"
    )]
    NotPem { reason: &'static str },
    #[error(
        "{KEY_SETTING} holds {what}, not a private key: set it to the private key whose public key was given to ALTER USER ... SET RSA_PUBLIC_KEY"
    )]
    NotPrivateKey { what: String },
    #[error(
        "{KEY_SETTING} is {what}; Snowflake key-pair authentication here takes an RSA key (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)"
    )]
    NotRsa { what: &'static str },
    #[error("{KEY_SETTING} is not a usable RSA private key: {reason}")]
    InvalidRsaKey { reason: &'static str },
    #[error("{KEY_SETTING} is encrypted, and no password is set: set {PASSWORD_SETTING}")]
    PasswordRequired,
    #[error(
        "{KEY_SETTING} could not be decrypted with {PASSWORD_SETTING}: the password is wrong, or the key is damaged"
    )]
    WrongPassword,
    #[error(
        "{PASSWORD_SETTING} is set, but {KEY_SETTING} is not encrypted: unset the password, or give the encrypted key"
    )]
    PasswordNotExpected,
    #[error(
        "{KEY_SETTING} is an RSA key in OpenSSL's traditional encrypted form (Proc-Type and DEK-Info headers), which jetbase does not read: convert it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in old_key.pem -out rsa_key.p8` and set the new file"
    )]
    LegacyEncryption,
    #[error(
        "{KEY_SETTING} is encrypted in a way jetbase does not read ({reason}): re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.p8 -out rsa_key.p8`"
    )]
    UnsupportedEncryption { reason: &'static str },
    #[error(
        "invalid Snowflake account identifier \"{account}\": only letters, digits, '_' and '-', in labels separated by '.'"
    )]
    InvalidAccount { account: String },
    #[error("the Snowflake user name is empty")]
    EmptyUser,
    #[error("a Snowflake JWT lifetime must be from 1 to 3600 seconds, not {seconds}")]
    Lifetime { seconds: u64 },
    #[error("the system clock is before 1970")]
    Clock,
    #[error("signing the Snowflake JWT failed")]
    Signing,
}

/// An RSA private key read for Snowflake, with its public key's fingerprint. `Debug` shows
/// the fingerprint and the size, nothing secret.
pub struct PrivateKey {
    key: RsaKeyPair,
    fingerprint: String,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &(self.key.public().modulus_len() * 8))
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Reads a PEM private key, decrypting it with `password` when it is encrypted. An empty
    /// password counts as none.
    pub fn from_pem(pem: &str, password: Option<&str>) -> Result<Self, KeyPairError> {
        let password = password.filter(|p| !p.is_empty());
        let (label, body) = pem_block(pem)?;
        if body.contains(':') {
            return Err(
                if label == "RSA PRIVATE KEY" && body.contains("Proc-Type") {
                    KeyPairError::LegacyEncryption
                } else {
                    KeyPairError::NotPem {
                        reason: "it has header lines (Name: value), which a private key has not",
                    }
                },
            );
        }
        let der = pem_base64(body)?;
        let key = match label {
            "PRIVATE KEY" => {
                if password.is_some() {
                    return Err(KeyPairError::PasswordNotExpected);
                }
                rsa_from_pkcs8(&der, false)?
            }
            "ENCRYPTED PRIVATE KEY" => {
                let password = password.ok_or(KeyPairError::PasswordRequired)?;
                rsa_from_pkcs8(&decrypt(&der, password)?, true)?
            }
            "RSA PRIVATE KEY" => {
                if password.is_some() {
                    return Err(KeyPairError::PasswordNotExpected);
                }
                RsaKeyPair::from_der(&der).map_err(rejected)?
            }
            other => return Err(not_private(other)),
        };
        let fingerprint = fingerprint(&key)?;
        Ok(Self { key, fingerprint })
    }

    /// `SHA256:` and the standard base64 of SHA-256 over the public key's DER
    /// SubjectPublicKeyInfo: Snowflake's `RSA_PUBLIC_KEY_FP`.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The signed JWT for `user` of `account`, issued at `now` and valid for `lifetime`
    /// (whole seconds, at most an hour).
    pub fn jwt(
        &self,
        account: &str,
        user: &str,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<String, KeyPairError> {
        let subject = qualified_user(account, user)?;
        let seconds = lifetime.as_secs();
        if seconds == 0 || lifetime > MAX_LIFETIME {
            return Err(KeyPairError::Lifetime { seconds });
        }
        let iat = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_err(|_| KeyPairError::Clock)?
            .as_secs();
        let claims = Claims {
            iss: &format!("{subject}.{}", self.fingerprint),
            sub: &subject,
            iat,
            exp: iat + seconds,
        };
        let claims = serde_json::to_vec(&claims).expect("claims of strings and numbers serialise");
        let mut token = URL_SAFE_NO_PAD.encode(HEADER);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);
        let mut sig = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &rand::SystemRandom::new(),
                token.as_bytes(),
                &mut sig,
            )
            .map_err(|_| KeyPairError::Signing)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut token);
        Ok(token)
    }
}

/// The JWT for `user` of `account` from a PEM key, valid for [`DEFAULT_LIFETIME`].
pub fn jwt(
    account: &str,
    user: &str,
    pem: &str,
    password: Option<&str>,
    now: SystemTime,
) -> Result<String, KeyPairError> {
    // The account and user are checked first: they need no key work.
    qualified_user(account, user)?;
    PrivateKey::from_pem(pem, password)?.jwt(account, user, now, DEFAULT_LIFETIME)
}

/// The claims, in the order PyJWT writes the connector's.
#[derive(serde::Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    iat: u64,
    exp: u64,
}

/// The account part of the JWT's claims: the account name in upper case. `xy12345`,
/// `xy12345.us-east-1` and `xy12345.us-east-1.aws` give `XY12345`; `myorg-myaccount` (and
/// `myorg-myaccount.privatelink`) give `MYORG-MYACCOUNT`; `myaccount-ab12cd.global` gives
/// `MYACCOUNT`. Checked as the connector does: letters, digits, `_` and `-`, in labels
/// separated by `.`.
pub fn jwt_account(account: &str) -> Result<String, KeyPairError> {
    let valid = !account.is_empty()
        && account.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
    if !valid {
        return Err(KeyPairError::InvalidAccount {
            account: account.to_string(),
        });
    }
    // The connection's `parse_account`: a region, cloud or host name after the first label
    // goes; for `<account>-<id>.global`, the `-<id>` too. (Python slices to the last `-`
    // even when there is none, losing a character; such a name is kept whole here.)
    let mut labels = account.split('.');
    let first = labels.next().unwrap_or_default();
    let name = match labels.next() {
        Some("global") => first.rfind('-').map_or(first, |dash| &first[..dash]),
        _ => first,
    };
    // `keypair.py`'s own cut comes next in the connector (before the first `-` if `.global`
    // is in the name, else before the first `.`): with no `.` left, it changes nothing.
    Ok(name.to_uppercase())
}

/// `ACCOUNT.USER`, the JWT's subject.
fn qualified_user(account: &str, user: &str) -> Result<String, KeyPairError> {
    let account = jwt_account(account)?;
    if user.is_empty() {
        return Err(KeyPairError::EmptyUser);
    }
    Ok(format!("{account}.{}", user.to_uppercase()))
}

/// The label and the text between the BEGIN and END lines of the first PEM block. Text
/// before the BEGIN line (OpenSSL's "Bag Attributes", a comment) is skipped, as OpenSSL does.
fn pem_block(text: &str) -> Result<(&str, &str), KeyPairError> {
    const BEGIN: &str = "-----BEGIN ";
    let not_pem = |reason| KeyPairError::NotPem { reason };
    let start = text
        .find(BEGIN)
        .ok_or_else(|| not_pem("there is no -----BEGIN ...----- line"))?;
    let rest = &text[start + BEGIN.len()..];
    let label_end = rest
        .find("-----")
        .filter(|&end| !rest[..end].contains('\n'))
        .ok_or_else(|| not_pem("its -----BEGIN line does not end with -----"))?;
    let label = &rest[..label_end];
    let body = &rest[label_end + "-----".len()..];
    let end = body
        .find(&format!("-----END {label}-----"))
        .ok_or_else(|| not_pem("there is no -----END line matching its -----BEGIN line"))?;
    Ok((label, &body[..end]))
}

/// The DER bytes of a PEM body: standard base64 across lines.
fn pem_base64(body: &str) -> Result<Zeroizing<Vec<u8>>, KeyPairError> {
    if body.contains("\\n") {
        return Err(KeyPairError::NotPem {
            reason: "it has the two characters \\n where line breaks belong; put real line breaks in the value",
        });
    }
    let text: Zeroizing<String> =
        Zeroizing::new(body.chars().filter(|c| !c.is_ascii_whitespace()).collect());
    STANDARD
        .decode(text.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| KeyPairError::NotPem {
            reason: "the text between its BEGIN and END lines is not base64",
        })
}

/// The PKCS#8 `PrivateKeyInfo` inside an `EncryptedPrivateKeyInfo`.
fn decrypt(der: &[u8], password: &str) -> Result<Zeroizing<Vec<u8>>, KeyPairError> {
    let info = EncryptedPrivateKeyInfoRef::try_from(der).map_err(|_| {
        KeyPairError::UnsupportedEncryption {
            reason: "its encryption parameters cannot be read: damaged, or a scheme jetbase does not know",
        }
    })?;
    info.encryption_algorithm
        .decrypt(password, info.encrypted_data.as_bytes())
        .map(Zeroizing::new)
        .map_err(|e| match e {
            pkcs5::Error::DecryptFailed => KeyPairError::WrongPassword,
            pkcs5::Error::NoPbes1CryptSupport => KeyPairError::UnsupportedEncryption {
                reason: "PBES1, as `openssl pkcs8 -v1` writes",
            },
            _ => KeyPairError::UnsupportedEncryption {
                reason: "an unsupported cipher or key derivation",
            },
        })
}

/// An RSA key from a PKCS#8 `PrivateKeyInfo`. `decrypted`: the bytes came out of a
/// decryption, where garbage means a wrong password (CBC padding can come out right by
/// chance).
fn rsa_from_pkcs8(der: &[u8], decrypted: bool) -> Result<RsaKeyPair, KeyPairError> {
    let info = PrivateKeyInfoRef::try_from(der).map_err(|_| {
        if decrypted {
            KeyPairError::WrongPassword
        } else {
            KeyPairError::NotPem {
                reason: "its content is not a PKCS#8 private key",
            }
        }
    })?;
    let oid = info.algorithm.oid;
    if oid != RSA_ENCRYPTION {
        return Err(KeyPairError::NotRsa {
            what: algorithm_name(oid),
        });
    }
    RsaKeyPair::from_pkcs8(der).map_err(rejected)
}

/// What a non-RSA key is, for messages.
fn algorithm_name(oid: ObjectIdentifier) -> &'static str {
    match oid.to_string().as_str() {
        "1.2.840.10045.2.1" => "an EC (ECDSA) key",
        "1.2.840.113549.1.1.10" => "an RSA-PSS key (restricted to PSS signatures)",
        "1.3.101.112" | "1.3.101.113" => "an EdDSA key",
        "1.3.101.110" | "1.3.101.111" => "an X25519/X448 key",
        "1.2.840.10040.4.1" => "a DSA key",
        _ => "a key of another algorithm",
    }
}

/// Why ring refused an RSA key, in words (its reasons are fixed strings, never key data).
fn rejected(e: ring::error::KeyRejected) -> KeyPairError {
    let reason = match e.to_string().as_str() {
        "TooSmall" => {
            "it is shorter than 2048 bits, the least Snowflake accepts (make a new one with openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048)"
        }
        "TooLarge" => "it is longer than 4096 bits, the most jetbase signs with",
        "PrivateModulusLenNotMultipleOf512Bits" => {
            "its size is not a multiple of 512 bits (2048, 3072 and 4096-bit keys work)"
        }
        "VersionNotSupported" => {
            "it is a multi-prime or PKCS#8 v2 key, which jetbase does not read"
        }
        "InvalidEncoding" => "its content is not a valid RSA private key",
        _ => "its numbers are invalid or inconsistent",
    };
    KeyPairError::InvalidRsaKey { reason }
}

/// The error for a PEM block that is not a private key. The label is shown when it looks
/// like one (upper-case words), never other text.
fn not_private(label: &str) -> KeyPairError {
    let what = match label {
        "PUBLIC KEY" | "RSA PUBLIC KEY" => "a public key".to_string(),
        "CERTIFICATE" => "a certificate".to_string(),
        "EC PRIVATE KEY" => {
            return KeyPairError::NotRsa {
                what: "an EC (ECDSA) key",
            };
        }
        "OPENSSH PRIVATE KEY" => {
            return KeyPairError::NotPem {
                reason: "it is an OpenSSH key; convert it with `ssh-keygen -p -m PKCS8 -f <file>`, or make the key with openssl",
            };
        }
        _ if label.len() <= 40
            && label
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ') =>
        {
            format!("a PEM \"{label}\" block")
        }
        _ => "an unrecognised PEM block".to_string(),
    };
    KeyPairError::NotPrivateKey { what }
}

/// `SHA256:` + base64 of SHA-256 over the DER SubjectPublicKeyInfo of the key's public key.
fn fingerprint(key: &RsaKeyPair) -> Result<String, KeyPairError> {
    let invalid = |_| KeyPairError::InvalidRsaKey {
        reason: "its public key cannot be encoded",
    };
    let spki = SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        subject_public_key: BitStringRef::from_bytes(key.public().as_ref()).map_err(invalid)?,
    }
    .to_der()
    .map_err(invalid)?;
    let hash = digest::digest(&digest::SHA256, &spki);
    Ok(format!("SHA256:{}", STANDARD.encode(hash)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../../tests/fixtures/snowflake/rsa_key.p8");
    const KEY_AES: &str = include_str!("../../../tests/fixtures/snowflake/rsa_key_aes256.p8");
    const KEY_DES3: &str = include_str!("../../../tests/fixtures/snowflake/rsa_key_des3.p8");
    const KEY_SHA1PRF: &str =
        include_str!("../../../tests/fixtures/snowflake/rsa_key_aes256_sha1prf.p8");
    const KEY_PKCS1: &str = include_str!("../../../tests/fixtures/snowflake/rsa_key_pkcs1.pem");
    const PUBLIC: &str = include_str!("../../../tests/fixtures/snowflake/rsa_key.pub");
    const EC_KEY: &str = include_str!("../../../tests/fixtures/snowflake/ec_key.p8");
    const PASSWORD: &str = "test-pass";
    /// `openssl rsa -in rsa_key.p8 -pubout -outform DER | openssl dgst -sha256 -binary |
    /// base64`, run once when the fixtures were made.
    const FINGERPRINT: &str = "SHA256:/8LHLgfm7mCFnthjfHgvT9/OXWlCGg7DALioFeuZ9pk=";
    const NOW: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn key() -> PrivateKey {
        PrivateKey::from_pem(KEY, None).unwrap()
    }

    fn err(pem: &str, password: Option<&str>) -> KeyPairError {
        PrivateKey::from_pem(pem, password).unwrap_err()
    }

    fn decode(part: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(part).unwrap()
    }

    /// The DER of the fixture public key (SubjectPublicKeyInfo), read apart from the
    /// private key.
    fn public_spki() -> Vec<u8> {
        let (label, body) = pem_block(PUBLIC).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        pem_base64(body).unwrap().to_vec()
    }

    #[test]
    fn fingerprint_matches_openssl() {
        assert_eq!(key().fingerprint(), FINGERPRINT);
        let from_public = digest::digest(&digest::SHA256, &public_spki());
        assert_eq!(
            format!("SHA256:{}", STANDARD.encode(from_public)),
            FINGERPRINT
        );
        let pkcs1 = PrivateKey::from_pem(KEY_PKCS1, None).unwrap();
        assert_eq!(pkcs1.fingerprint(), FINGERPRINT);
    }

    #[test]
    fn jwt_parts_decode_to_header_and_claims() {
        let token = key()
            .jwt("xy12345.us-east-1.aws", "jsmith", now(), DEFAULT_LIFETIME)
            .unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert!(
            parts
                .iter()
                .all(|p| !p.contains('=') && !p.contains('+') && !p.contains('/'))
        );
        assert_eq!(decode(parts[0]), br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = String::from_utf8(decode(parts[1])).unwrap();
        assert_eq!(
            claims,
            format!(
                r#"{{"iss":"XY12345.JSMITH.{FINGERPRINT}","sub":"XY12345.JSMITH","iat":{NOW},"exp":{}}}"#,
                NOW + 60
            )
        );
        assert_eq!(decode(parts[2]).len(), 256);

        let hour = key()
            .jwt("myorg-my_account", "Ann", now(), MAX_LIFETIME)
            .unwrap();
        let claims: serde_json::Value =
            serde_json::from_slice(&decode(hour.split('.').nth(1).unwrap())).unwrap();
        assert_eq!(claims["sub"], "MYORG-MY_ACCOUNT.ANN");
        assert_eq!(claims["iss"], format!("MYORG-MY_ACCOUNT.ANN.{FINGERPRINT}"));
        assert_eq!(claims["exp"], NOW + 3600);
    }

    #[test]
    fn signature_verifies_against_the_public_key() {
        let token = key()
            .jwt("xy12345", "jsmith", now(), DEFAULT_LIFETIME)
            .unwrap();
        let (signed, sig) = token.rsplit_once('.').unwrap();
        let spki = public_spki();
        let info = SubjectPublicKeyInfoRef::try_from(spki.as_slice()).unwrap();
        let public = signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            info.subject_public_key.raw_bytes(),
        );
        public.verify(signed.as_bytes(), &decode(sig)).unwrap();
        let tampered = signed.replacen('e', "f", 1);
        assert!(public.verify(tampered.as_bytes(), &decode(sig)).is_err());
    }

    #[test]
    fn jwt_is_the_python_connectors() {
        // RSASSA-PKCS1-v1_5 is deterministic: snowflake-connector-python 4.8.1 (PyJWT
        // 2.15.1), given the same key, account, user and time, wrote exactly these bytes
        // (`AuthByKeyPair(private_key=der).prepare(account="xy12345", user="jsmith")`, the
        // account as its `parse_account` leaves "xy12345.us-east-1.aws").
        let token = key()
            .jwt("xy12345.us-east-1.aws", "jsmith", now(), DEFAULT_LIFETIME)
            .unwrap();
        assert_eq!(token, PYTHON_JWT);
    }

    /// What the connector wrote, with `datetime.now` fixed at `NOW` (see the test).
    const PYTHON_JWT: &str = concat!(
        "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJYWTEyMzQ1LkpTTUlUSC5TSEEyNTY6LzhMSExnZm0",
        "3bUNGbnRoamZIZ3ZUOS9PWFdsQ0dnN0RBTGlvRmV1Wjlwaz0iLCJzdWIiOiJYWTEyMzQ1LkpTTUlUSCIsImlhdCI",
        "6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAwMDYwfQ.TvKZTM29Cjk_lDU6BE27Qdok1R9Kx75HARtFYQiHR8Y4TLyJ",
        "uRfPYdJqjWec5gqS5fFgtTrO_R-3M3KmUvCmQf-TiBsJQYoyyFUXwc-KzQTi8aOGx1AdqN-7KUSECghSfT0_LyAk",
        "K03LYJhEaSMYmUUIS8SNIBCPCGdx6J8DNRboCJaFoSJb0jl1MFYTEjLOZIevtHOJW_9UwYiWBIwPS1KaFau-V3d-",
        "K0z7RV3Us4s7ZvqtXwHUg8XIxvEtJVWMfqI48obsIxJmOpqDNOsrX0Hsh-VHLqK66viI4kky0n8KsO_gOPmGmLOu",
        "aFwaOzwBTxmqERSar0lPXGzF97bLzA",
    );

    #[test]
    fn encrypted_keys_need_the_right_password() {
        for pem in [KEY_AES, KEY_DES3, KEY_SHA1PRF] {
            let key = PrivateKey::from_pem(pem, Some(PASSWORD)).unwrap();
            assert_eq!(key.fingerprint(), FINGERPRINT);
            assert_eq!(err(pem, Some("wrong-pass")), KeyPairError::WrongPassword);
            assert_eq!(err(pem, None), KeyPairError::PasswordRequired);
            assert_eq!(err(pem, Some("")), KeyPairError::PasswordRequired);
        }
    }

    #[test]
    fn a_password_for_an_unencrypted_key_is_refused() {
        for pem in [KEY, KEY_PKCS1] {
            assert_eq!(err(pem, Some(PASSWORD)), KeyPairError::PasswordNotExpected);
            assert!(PrivateKey::from_pem(pem, Some("")).is_ok());
        }
    }

    #[test]
    fn pem_around_the_key_is_tolerated() {
        let crlf = KEY.replace('\n', "\r\n");
        assert_eq!(
            PrivateKey::from_pem(&crlf, None).unwrap().fingerprint(),
            FINGERPRINT
        );
        let padded = format!("Bag Attributes\n    localKeyID: 01\n\n  {KEY}\n\n");
        assert_eq!(
            PrivateKey::from_pem(&padded, None).unwrap().fingerprint(),
            FINGERPRINT
        );
    }

    type Bad = (String, Option<&'static str>, KeyPairError);

    /// Every bad input, with the error it gives.
    fn bad_inputs() -> Vec<Bad> {
        let mut all = not_pem_inputs();
        all.extend(wrong_key_inputs());
        all
    }

    /// Inputs that are not a PEM private key at all.
    fn not_pem_inputs() -> Vec<Bad> {
        let body: String = KEY.lines().filter(|l| !l.starts_with("-----")).collect();
        let not_pem = |reason| KeyPairError::NotPem { reason };
        vec![
            (
                String::new(),
                None,
                not_pem("there is no -----BEGIN ...----- line"),
            ),
            (
                body.clone(),
                None,
                not_pem("there is no -----BEGIN ...----- line"),
            ),
            (
                "-----BEGIN PRIVATE KEY\nMIIB\n-----END PRIVATE KEY-----".into(),
                None,
                not_pem("its -----BEGIN line does not end with -----"),
            ),
            (
                KEY.replace("END PRIVATE", "END RSA PRIVATE"),
                None,
                not_pem("there is no -----END line matching its -----BEGIN line"),
            ),
            (
                KEY.replace('\n', "\\n"),
                None,
                not_pem(
                    "it has the two characters \\n where line breaks belong; put real line breaks in the value",
                ),
            ),
            (
                KEY.replacen('M', "*", 1),
                None,
                not_pem("the text between its BEGIN and END lines is not base64"),
            ),
            (
                "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n".into(),
                None,
                not_pem("its content is not a PKCS#8 private key"),
            ),
            (
                {
                    // A whole number of base64 quads, so only the DER is cut short.
                    let mut lines: Vec<&str> = KEY.lines().collect();
                    lines.remove(lines.len() - 3);
                    lines.join("\n")
                },
                None,
                not_pem("its content is not a PKCS#8 private key"),
            ),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END ENCRYPTED PRIVATE KEY-----\n".into(),
                Some(PASSWORD),
                KeyPairError::UnsupportedEncryption {
                    reason: "its encryption parameters cannot be read: damaged, or a scheme jetbase does not know",
                },
            ),
        ]
    }

    /// PEM blocks of the wrong kind, and passwords that do not fit.
    fn wrong_key_inputs() -> Vec<Bad> {
        let mut legacy = KEY_PKCS1.replacen(
            "-----\n",
            "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n",
            1,
        );
        legacy.truncate(legacy.len() - 200);
        legacy.push_str("\n-----END RSA PRIVATE KEY-----\n");
        vec![
            (
                PUBLIC.to_string(),
                None,
                KeyPairError::NotPrivateKey {
                    what: "a public key".into(),
                },
            ),
            (
                "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
                None,
                KeyPairError::NotPrivateKey {
                    what: "a certificate".into(),
                },
            ),
            (
                "-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n".into(),
                None,
                KeyPairError::NotPrivateKey {
                    what: "a PEM \"X509 CRL\" block".into(),
                },
            ),
            (
                "-----BEGIN secret MIIEv-----\nMIIB\n-----END secret MIIEv-----\n".into(),
                None,
                KeyPairError::NotPrivateKey {
                    what: "an unrecognised PEM block".into(),
                },
            ),
            (
                EC_KEY.to_string(),
                None,
                KeyPairError::NotRsa {
                    what: "an EC (ECDSA) key",
                },
            ),
            (legacy, Some(PASSWORD), KeyPairError::LegacyEncryption),
            (
                KEY_AES.to_string(),
                Some("wrong-pass"),
                KeyPairError::WrongPassword,
            ),
            (KEY_AES.to_string(), None, KeyPairError::PasswordRequired),
            (
                KEY.to_string(),
                Some(PASSWORD),
                KeyPairError::PasswordNotExpected,
            ),
        ]
    }

    #[test]
    fn bad_keys_fail_clearly() {
        for (pem, password, expected) in bad_inputs() {
            assert_eq!(err(&pem, password), expected, "for {pem:.60?}");
        }
    }

    #[test]
    fn errors_and_debug_never_show_secrets() {
        // Every 12-character run of every key body: none may appear in a message.
        let mut runs = Vec::new();
        for pem in [KEY, KEY_AES, KEY_DES3, KEY_SHA1PRF, KEY_PKCS1, EC_KEY] {
            let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
            let chars: Vec<char> = body.chars().collect();
            runs.extend(chars.windows(12).map(|w| w.iter().collect::<String>()));
        }
        let check = |text: &str| {
            for secret in [PASSWORD, "wrong-pass"] {
                assert!(!text.contains(secret), "{text}");
            }
            for run in &runs {
                assert!(!text.contains(run.as_str()), "{text}");
            }
        };
        for (pem, password, _) in bad_inputs() {
            let e = err(&pem, password);
            check(&e.to_string());
            check(&format!("{e:?}"));
        }
        let debug = format!("{:?}", key());
        assert!(
            debug.contains(FINGERPRINT) && debug.contains("2048"),
            "{debug}"
        );
        check(&debug);
        let encrypted = PrivateKey::from_pem(KEY_AES, Some(PASSWORD)).unwrap();
        check(&format!("{encrypted:?}"));
    }

    #[test]
    fn messages_name_the_settings() {
        let e = err(KEY_AES, None).to_string();
        assert!(
            e.contains("JETBASE_SNOWFLAKE_PRIVATE_KEY ")
                || e.contains("JETBASE_SNOWFLAKE_PRIVATE_KEY,")
        );
        assert!(e.contains("JETBASE_SNOWFLAKE_PRIVATE_KEY_PASSWORD"), "{e}");
        assert!(e.contains("snowflake_private_key in env.py"), "{e}");
        let e = err("garbage", None).to_string();
        assert!(
            e.contains("JETBASE_SNOWFLAKE_PRIVATE_KEY")
                && e.contains("-----BEGIN PRIVATE KEY-----"),
            "{e}"
        );
    }

    #[test]
    fn account_names() {
        for (account, expected) in [
            ("xy12345", "XY12345"),
            ("xy12345.us-east-1", "XY12345"),
            ("xy12345.us-east-2.aws", "XY12345"),
            ("xy12345.west-europe.azure", "XY12345"),
            ("xy12345.snowflakecomputing.com", "XY12345"),
            ("myorg-myaccount", "MYORG-MYACCOUNT"),
            ("MyOrg-My_Account", "MYORG-MY_ACCOUNT"),
            ("myorg-myaccount.privatelink", "MYORG-MYACCOUNT"),
            ("myaccount-ab12cd34.global", "MYACCOUNT"),
            ("myorg-myaccount-ab12cd34.global", "MYORG-MYACCOUNT"),
            ("myaccount.global", "MYACCOUNT"),
        ] {
            assert_eq!(jwt_account(account).unwrap(), expected, "{account}");
        }
        for account in [
            "",
            ".",
            "a..b",
            "xy12345.",
            "a/b",
            "a b",
            "ac\\count",
            "ünï",
        ] {
            assert_eq!(
                jwt_account(account),
                Err(KeyPairError::InvalidAccount {
                    account: account.to_string()
                })
            );
        }
    }

    #[test]
    fn users_lifetimes_and_clock() {
        let key = key();
        assert_eq!(
            qualified_user("xy12345", "first.last@example.com").unwrap(),
            "XY12345.FIRST.LAST@EXAMPLE.COM"
        );
        assert_eq!(
            key.jwt("xy12345", "", now(), DEFAULT_LIFETIME),
            Err(KeyPairError::EmptyUser)
        );
        for (lifetime, seconds) in [
            (Duration::ZERO, 0),
            (Duration::from_millis(999), 0),
            (MAX_LIFETIME + Duration::from_secs(1), 3601),
        ] {
            assert_eq!(
                key.jwt("xy12345", "u", now(), lifetime),
                Err(KeyPairError::Lifetime { seconds })
            );
        }
        assert_eq!(
            key.jwt(
                "xy12345",
                "u",
                SystemTime::UNIX_EPOCH - Duration::from_secs(1),
                DEFAULT_LIFETIME
            ),
            Err(KeyPairError::Clock)
        );
        // The one-call form checks the account before touching the key.
        assert!(matches!(
            jwt("a/b", "u", "garbage", None, now()),
            Err(KeyPairError::InvalidAccount { .. })
        ));
        assert!(jwt("xy12345", "u", KEY, None, now()).is_ok());
    }
}
