//! Minimal, lenient PEM (RFC 7468, plus RFC 1421 encapsulated headers) reader and writer.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use crate::JoseError;

const PEM_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One `-----BEGIN label----- ... -----END label-----` block.
pub(crate) struct Block<'a> {
    pub(crate) label: &'a str,
    /// An RFC 1421 `Proc-Type: 4,ENCRYPTED` header was present.
    pub(crate) encrypted: bool,
    body: Zeroizing<String>,
}

impl Block<'_> {
    /// The DER contents (zeroized on drop: this may be a private key).
    pub(crate) fn der(&self) -> Result<Zeroizing<Vec<u8>>, JoseError> {
        PEM_B64
            .decode(self.body.as_bytes())
            .map(Zeroizing::new)
            .map_err(|_| {
                JoseError::InvalidKey(format!("invalid base64 in PEM {} block", self.label))
            })
    }
}

/// Splits `text` into PEM blocks, ignoring anything outside them.
pub(crate) fn parse(text: &str) -> Result<Vec<Block<'_>>, JoseError> {
    let mut blocks = Vec::new();
    let mut current: Option<Block<'_>> = None;
    for line in text.lines().map(str::trim) {
        match current.as_mut() {
            None => {
                if let Some(label) = line
                    .strip_prefix("-----BEGIN ")
                    .and_then(|l| l.strip_suffix("-----"))
                {
                    current = Some(Block {
                        label,
                        encrypted: false,
                        body: Zeroizing::new(String::new()),
                    });
                }
            }
            Some(block) => {
                if let Some(label) = line
                    .strip_prefix("-----END ")
                    .and_then(|l| l.strip_suffix("-----"))
                {
                    if label != block.label {
                        return Err(JoseError::InvalidKey(format!(
                            "PEM block BEGIN {} ends with END {label}",
                            block.label
                        )));
                    }
                    if let Some(done) = current.take() {
                        blocks.push(done);
                    }
                } else if let Some((name, value)) = line.split_once(':') {
                    if name.trim().eq_ignore_ascii_case("Proc-Type")
                        && value.to_ascii_uppercase().contains("ENCRYPTED")
                    {
                        block.encrypted = true;
                    }
                } else {
                    block.body.push_str(line);
                }
            }
        }
    }
    if let Some(block) = current {
        return Err(JoseError::InvalidKey(format!(
            "PEM block {} is not terminated",
            block.label
        )));
    }
    Ok(blocks)
}

/// Encodes DER as PEM with 64-character lines (RFC 7468 section 2).
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(der));
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}
