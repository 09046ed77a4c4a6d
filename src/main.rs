fn main() {
    std::process::exit(jetbase::cli::run());
}
