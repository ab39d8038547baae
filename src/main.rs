fn main() -> std::process::ExitCode {
    weiops::cli::main()
}
