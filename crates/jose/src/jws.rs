//! Compact JWS serialization (RFC 7515 section 7.1): signing, decoding, verification.

use serde_json::{Map, Value};

use crate::{Alg, JoseError, PrivateKey, PublicJwk, b64url_decode, b64url_encode};

/// Signs `claims` with `key` and returns the compact JWS
/// `BASE64URL(header) . BASE64URL(claims) . BASE64URL(signature)`
/// (RFC 7515 sections 5.1 and 7.1).
///
/// `header` must be a JSON object; its `alg` member is always set to
/// `alg.as_str()`, overriding any value the caller supplied. Other members
/// (`typ`, `kid`, `jwk`, ...) are copied as given. `claims` must be a JSON object.
pub fn sign(
    header: &Value,
    claims: &Value,
    key: &PrivateKey,
    alg: Alg,
) -> Result<String, JoseError> {
    let mut header = header
        .as_object()
        .cloned()
        .ok_or_else(|| JoseError::Malformed("JWS header must be a JSON object".to_owned()))?;
    if !claims.is_object() {
        return Err(JoseError::Malformed(
            "JWS claims must be a JSON object".to_owned(),
        ));
    }
    if !key.supports(alg) {
        return Err(JoseError::KeyAlgMismatch);
    }
    header.insert("alg".to_owned(), Value::String(alg.as_str().to_owned()));
    let header = serde_json::to_vec(&header)
        .map_err(|e| JoseError::Malformed(format!("cannot serialize header: {e}")))?;
    let claims = serde_json::to_vec(claims)
        .map_err(|e| JoseError::Malformed(format!("cannot serialize claims: {e}")))?;
    let mut token = format!("{}.{}", b64url_encode(&header), b64url_encode(&claims));
    let signature = key.sign(alg, token.as_bytes())?;
    token.push('.');
    token.push_str(&b64url_encode(&signature));
    Ok(token)
}

/// A compact JWS split into its parts but **not yet verified**.
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The JOSE header (RFC 7515 section 4).
    pub header: Map<String, Value>,
    /// The payload, parsed as a JSON object (JWT claims set).
    pub claims: Map<String, Value>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the bytes that were signed.
    pub signing_input: String,
    /// The decoded signature octets.
    pub signature: Vec<u8>,
}

/// Splits a compact JWS and decodes its parts without verifying it
/// (RFC 7515 section 5.2 steps 1-7).
///
/// Fails with [`JoseError::Malformed`] if the token does not have exactly
/// three dot-separated parts, a part is not strict base64url, or the header or
/// payload is not a JSON object.
pub fn decode(token: &str) -> Result<Decoded, JoseError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JoseError::Malformed(format!(
            "expected 3 dot-separated parts, found {}",
            token.split('.').count()
        )));
    };
    Ok(Decoded {
        header: decode_object(h, "header")?,
        claims: decode_object(p, "payload")?,
        signing_input: format!("{h}.{p}"),
        signature: b64url_decode(s).map_err(|e| JoseError::Malformed(format!("signature: {e}")))?,
    })
}

fn decode_object(part: &str, what: &str) -> Result<Map<String, Value>, JoseError> {
    let bytes = b64url_decode(part).map_err(|e| JoseError::Malformed(format!("{what}: {e}")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(JoseError::Malformed(format!("{what} is not a JSON object"))),
        Err(e) => Err(JoseError::Malformed(format!(
            "{what} is not valid JSON: {e}"
        ))),
    }
}

impl Decoded {
    fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// The header's `alg` (RFC 7515 section 4.1.1), if it is a string.
    pub fn alg(&self) -> Option<&str> {
        self.header_str("alg")
    }

    /// The header's `typ` (RFC 7515 section 4.1.9), e.g. `dpop+jwt`.
    pub fn typ(&self) -> Option<&str> {
        self.header_str("typ")
    }

    /// The header's `kid` (RFC 7515 section 4.1.4).
    pub fn kid(&self) -> Option<&str> {
        self.header_str("kid")
    }

    /// Verifies the signature with `jwk` and returns the algorithm used
    /// (RFC 7515 section 5.2 step 8).
    ///
    /// The `alg` header must name a supported algorithm (`none`, HS* etc. give
    /// [`JoseError::UnsupportedAlgorithm`]) compatible with `jwk`
    /// ([`JoseError::KeyAlgMismatch`] otherwise). Tokens carrying a `crit`
    /// header are rejected with [`JoseError::UnsupportedCritical`] because no
    /// extensions are understood (RFC 7515 section 4.1.11).
    /// Claims (`exp`, `aud`, ...) are *not* checked here.
    pub fn verify(&self, jwk: &PublicJwk) -> Result<Alg, JoseError> {
        if let Some(crit) = self.header.get("crit") {
            return Err(JoseError::UnsupportedCritical(crit.to_string()));
        }
        let alg = match self.header.get("alg") {
            Some(Value::String(s)) => {
                Alg::parse(s).ok_or_else(|| JoseError::UnsupportedAlgorithm(s.clone()))?
            }
            Some(_) => {
                return Err(JoseError::Malformed(
                    "\"alg\" header must be a string".to_owned(),
                ));
            }
            None => return Err(JoseError::Malformed("missing \"alg\" header".to_owned())),
        };
        jwk.verify(alg, self.signing_input.as_bytes(), &self.signature)?;
        Ok(alg)
    }
}
