fn main() {
    std::process::exit(posconf::cli::main());
}
