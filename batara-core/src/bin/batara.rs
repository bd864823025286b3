//! The `batara` command: a thin `main` over [`batara_core::cli::run`].

fn main() {
    std::process::exit(batara_core::cli::run(std::env::args_os()));
}
