//! Load generator (see --help).
fn main() {}
