//! Writes `tests/vectors/vault-v1.json`, the format-stability fixture. Run once
//! per format version: `cargo run -p tandem-vault --example write_fixture`.
use tandem_vault::{KdfParams, Vault};

fn main() -> std::io::Result<()> {
    let (v, _) = Vault::seal(
        &mut rand_core::OsRng,
        b"tandem fixture",
        b"fixture secret: version 1",
        KdfParams::INSECURE_TEST,
    )
    .map_err(std::io::Error::other)?;
    std::fs::write(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/vault-v1.json"),
        v.to_json() + "\n",
    )
}
