//! The `bearerguard` command; everything is in the library ([`bearerguard_cli::run`]).

fn main() {
    std::process::exit(bearerguard_cli::main_with_args(std::env::args_os()));
}
