//! `steward keygen [--alg RS256|ES256] --out FILE [--force]`: writes a new private key
//! (PKCS#8 PEM, mode 0600) and prints its public JWK, whose `kid` is the key's RFC 7638
//! thumbprint, to paste into Okta (the app > General > Public Keys > Add key).

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use steward_jose::{Alg, PrivateKey};
use zeroize::Zeroizing;

use crate::args::{KeyAlg, KeygenArgs};

/// Runs `steward keygen`.
pub fn run(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() && !args.force {
        bail!(
            "{} already exists; pass --force to overwrite it (the key in it would be lost)",
            args.out.display()
        );
    }
    let (mut key, alg) = match args.alg {
        KeyAlg::Rs256 => (PrivateKey::generate_rsa(2048), Alg::RS256),
        KeyAlg::Es256 => (PrivateKey::generate_ec(Alg::ES256), Alg::ES256),
    };
    let key = key
        .as_mut()
        .map_err(|e| anyhow::anyhow!("cannot generate the key: {e}"))?;
    let kid = key.thumbprint();
    key.set_kid(Some(kid.clone()));
    let pem = Zeroizing::new(key.to_pkcs8_pem());
    write_private(&args.out, pem.as_bytes(), args.force)?;
    let jwk = key.public_jwk().with_alg(alg).to_json();
    println!("{}", serde_json::to_string_pretty(&jwk)?);
    eprintln!(
        "Wrote the private key to {} (mode 0600). In Okta, open the API Services app > General \
         > Public Keys > Add key, paste the JWK above, and Save. Then test with:\n  steward \
         doctor --domain <your-org>.okta.com --client-id <0oa…> --private-key {} --key-id {kid}",
        args.out.display(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `bytes` to `path` with mode 0600. Without `force`, fails if the file exists
/// (`create_new`, so no race with another writer). With `force`, writes a new file next to
/// it and renames it over, so the old file's permissions are never reused.
fn write_private(path: &Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    let target = if force {
        let mut name = path
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(format!(".tmp-{}", std::process::id()));
        path.with_file_name(name)
    } else {
        path.to_path_buf()
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&target)
        .with_context(|| format!("cannot create {}", target.display()))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", target.display()))?;
    if force {
        std::fs::rename(&target, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
    }
    Ok(())
}
