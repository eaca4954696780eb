//! Turns the connection flags into a [`ConnectionInput`]: reads the key and CA files. A file
//! that can't be read is passed on as a [`FileError`], which the doctor reports as a failing
//! check with its fix.

use std::io::Read as _;
use std::path::Path;

use steward_doctor::{ConnectionInput, DpopMode, FileError};
use zeroize::Zeroizing;

use crate::args::{ConnectionArgs, DpopArg};

fn read_key(path: &str) -> Result<Zeroizing<String>, FileError> {
    let mut text = Zeroizing::new(String::new());
    let result = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text).map(|_| ()))
    };
    result.map(|()| text).map_err(|e| FileError {
        path: if path == "-" {
            "(standard input)".to_owned()
        } else {
            path.to_owned()
        },
        reason: e.to_string(),
    })
}

fn read_ca(path: &Path) -> Result<Vec<u8>, FileError> {
    std::fs::read(path).map_err(|e| FileError {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// The doctor's input for these flags.
pub fn input(args: &ConnectionArgs) -> ConnectionInput {
    let mut input = ConnectionInput::new(&args.domain, &args.client_id, Zeroizing::default());
    input.private_key = read_key(&args.private_key);
    input.key_id = args.key_id.clone();
    input.dpop = match args.dpop {
        DpopArg::Auto => DpopMode::Auto,
        DpopArg::On => DpopMode::On,
        DpopArg::Off => DpopMode::Off,
    };
    input.allow_insecure_loopback = args.allow_insecure_loopback;
    input.ca_cert_pem = args.ca_cert.as_deref().map(read_ca);
    input
}
